import Foundation
import LedgerDomain
import LedgerStore

// ledger-bench: the ledger's own side of the benchmark. Each figure is printed as one
// machine-readable line `name value`, like the peer and the ceiling.
//
//   ledger-bench import FILE              batched import of a JSON Lines file (one transaction)
//   ledger-bench single COUNT             one fact per transaction, synchronous=FULL
//
// Setup (generating data, creating the database) happens outside the measured part.

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func freshDatabase() throws -> EventLog {
    let path = NSTemporaryDirectory() + "ledger-bench-\(UUID().uuidString).db"
    return try EventLog.create(at: path).log
}

func remove(_ log: EventLog) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: log.path + suffix) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: ledger-bench import FILE | single COUNT\n".utf8))
    exit(64)
}
let rules = try Rules.defaults()

switch arguments[1] {
case "import":
    guard let data = FileManager.default.contents(atPath: arguments[2]) else { exit(66) }
    let log = try freshDatabase()
    let ledger = Ledger(log: log, rules: rules)
    // Measured: parsing every line, the policies, the hash chain and the commit.
    let start = now()
    let report = try data.withUnsafeBytes { try ledger.importJSONLines($0.bindMemory(to: UInt8.self)) }
    let end = now()
    print("import_eps \(Int(Double(report.factsWritten) / (end - start)))")
    print("import_rows_per_s \(Int(Double(report.factsWritten + report.decisionsWritten) / (end - start)))")
    print("import_s \(String(format: "%.3f", end - start))")
    print("import_facts \(report.factsWritten)")
    print("import_decisions \(report.decisionsWritten)")
    remove(log)

case "single":
    let count = Int(arguments[2]) ?? 5000
    let log = try freshDatabase()
    let ledger = Ledger(log: log, rules: rules)
    // Setup: register the clients (not measured).
    var registrations: [IncomingEvent] = []
    for client in 0..<10 {
        registrations.append(try ImportLineParser.parse(
            #"{"type":"ClientRegistered","clientId":"C\#(client)","occurredAt":"2025-01-01T00:00:00Z","data":{"name":"bench","segment":"retail","investorType":"ordinary","branch":"SH"}}"#,
            line: 1))
    }
    _ = try ledger.importEvents(registrations)
    // Prepared outside the measure: the facts, as the append command would parse them.
    var facts: [IncomingEvent] = []
    for index in 0..<count {
        let second = String(format: "%02d", index % 60)
        let minute = String(format: "%02d", (index / 60) % 60)
        let hour = String(format: "%02d", (index / 3600) % 24)
        let line = #"{"type":"InteractionLogged","clientId":"C\#(index % 10)","occurredAt":"2025-06-01T\#(hour):\#(minute):\#(second)Z","data":{"channel":"app","kind":"inquiry"}}"#
        var event = try ImportLineParser.parse(line, line: 1)
        event.eventId = EventID.random()
        facts.append(event)
    }
    let start = now()
    for fact in facts { _ = try ledger.importEvents([fact]) }
    let end = now()
    print("append_single_eps \(Int(Double(count) / (end - start)))")
    remove(log)

default:
    FileHandle.standardError.write(Data("unknown benchmark \(arguments[1])\n".utf8))
    exit(64)
}
