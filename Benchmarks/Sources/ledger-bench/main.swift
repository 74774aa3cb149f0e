import Foundation
import LedgerApplication
import LedgerCore
import LedgerDomain
import LedgerProjections
import LedgerSQLite
import LedgerStorage

// ledger-bench: the ledger's own side of the benchmark. Each figure is printed as one
// machine-readable line `name value`, like the peer and the ceiling.
//
//   ledger-bench import FILE              batched import of a JSON Lines file (one transaction)
//   ledger-bench single COUNT             one fact per transaction, synchronous=FULL
//   ledger-bench rebuild DB               full rebuild of the three projections of a ledger
//   ledger-bench catchup DB [COUNT] [DAY] catch-up after importing COUNT (1,000) deposits of existing clients on DAY
//   ledger-bench history DB CLIENT [N]    one client's history (best of 5), adding a client of N facts first
//   ledger-bench insight DB [DAY]         churn-risk scores of every client as of DAY (default: the log's last
//                                         day), read from built projections, against a full rebuild of them
//
// Setup (generating data, creating the database) happens outside the measured part.

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func freshDatabase() throws -> SQLiteEventStore {
    let path = NSTemporaryDirectory() + "ledger-bench-\(UUID().uuidString).db"
    return try SQLiteEventStore.create(at: path).store
}

func remove(_ log: SQLiteEventStore) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: log.path + suffix) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: ledger-bench import FILE | single COUNT | rebuild DB | catchup DB [COUNT] | history DB CLIENT [N] | insight DB [DAY]\n".utf8))
    exit(64)
}
let rules = try Rules.defaults()

switch arguments[1] {
case "import":
    guard let data = FileManager.default.contents(atPath: arguments[2]) else { exit(66) }
    let log = try freshDatabase()
    let ledger = Ledger(store: log, rules: rules)
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
    let ledger = Ledger(store: log, rules: rules)
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

case "rebuild":
    let log = try SQLiteEventStore(path: arguments[2], readOnly: false)
    let engine = try ProjectionEngine(store: log.projectionStore(), rules: rules)
    let start = now()
    let run = try engine.rebuild()
    let end = now()
    print("rebuild_eps \(Int(Double(run.eventsApplied) / (end - start)))")
    print("rebuild_events \(run.eventsApplied)")
    print("rebuild_clients \(run.clientsWritten)")
    print("rebuild_s \(String(format: "%.3f", end - start))")

case "insight":
    // The target: churn scores of every client as of a day within the time of a full
    // rebuild over the same log. The rebuild is measured first (it also builds the rows the
    // scores read), then the scores from the built projections.
    let log = try SQLiteEventStore(path: arguments[2], readOnly: false)
    let engine = try ProjectionEngine(store: log.projectionStore(), rules: rules)
    let rebuildStart = now()
    let run = try engine.rebuild()
    let rebuildEnd = now()
    let day: Timestamp
    if arguments.count >= 4, let given = Timestamp(iso8601: arguments[3]) {
        day = given
    } else {
        day = try engine.store.read { try engine.store.retentionClients() }.compactMap(\.lastActivityDay).max().map { Timestamp(dayNumber: $0) } ?? Timestamp.now()
    }
    let start = now()
    let scores = try engine.churnScores(asOf: day)
    let end = now()
    print("insight_clients \(run.clientsWritten)")
    print("insight_scored \(scores.count)")
    print("insight_high \(scores.filter { $0.band == "high" }.count)")
    print("insight_s \(String(format: "%.3f", end - start))")
    print("insight_rebuild_s \(String(format: "%.3f", rebuildEnd - rebuildStart))")
    print("insight_of_rebuild \(String(format: "%.3f", (end - start) / (rebuildEnd - rebuildStart)))")

case "catchup":
    // 1,000 deposits spread over the ledger's existing, active clients (dated after the
    // seeded period), imported, then the catch-up of the projections is measured.
    let count = arguments.count >= 4 ? Int(arguments[3]) ?? 1000 : 1000
    // The day the deposits occur: after the ledger's own facts (so none is a late fact).
    let day = arguments.count >= 5 ? arguments[4] : "2026-11-20"
    let log = try SQLiteEventStore(path: arguments[2], readOnly: false)
    let engine = try ProjectionEngine(store: log.projectionStore(), rules: rules)
    try engine.catchUp()
    let clients = try engine.membership().filter { !$0.offboarded }.map(\.clientId)
    guard !clients.isEmpty else { exit(65) }
    var lines = ""
    for index in 0..<count {
        let client = clients[(index * 7919) % clients.count]
        let minute = String(format: "%02d", index % 60)
        let hour = String(format: "%02d", (index / 60) % 24)
        lines += #"{"eventId":"\#(EventID.random())","type":"FundsDeposited","clientId":"\#(client)","occurredAt":"\#(day)T\#(hour):\#(minute):00Z","data":{"amount":\#(1000 + index).00}}"# + "\n"
    }
    let bytes = Array(lines.utf8)
    let report = try bytes.withUnsafeBufferPointer { try Ledger(store: log, rules: rules).importJSONLines($0) }
    // Measured: only the catch-up of what the import wrote.
    let start = now()
    let run = try engine.catchUp()
    let end = now()
    print("catchup_ms \(String(format: "%.1f", (end - start) * 1000))")
    print("catchup_events \(run.eventsApplied)")
    print("catchup_clients \(run.clientsWritten)")
    print("catchup_facts_imported \(report.factsWritten)")

case "history":
    // One client's history (its events with the state after each) from a ledger; a client
    // with COUNT facts is added first when CLIENT has no stream yet.
    guard arguments.count >= 4 else { exit(64) }
    let log = try SQLiteEventStore(path: arguments[2], readOnly: false)
    let ledger = Ledger(store: log, rules: rules)
    let client = arguments[3]
    if try log.version(of: "client/" + client) == 0 {
        let count = arguments.count >= 5 ? Int(arguments[4]) ?? 1000 : 1000
        var lines = #"{"type":"ClientRegistered","clientId":"\#(client)","occurredAt":"2025-01-01T00:00:00Z","data":{"name":"bench","segment":"retail","investorType":"ordinary","branch":"SH"}}"# + "\n"
        for index in 1..<count {
            let day = String(format: "%02d", index % 28 + 1)
            let second = String(format: "%02d", index % 60)
            let kind = index % 3 == 0 ? #""type":"TradeExecuted","clientId":"\#(client)","occurredAt":"2025-06-\#(day)T10:\#(String(format: "%02d", (index / 60) % 60)):\#(second)Z","data":{"orderId":"O-\#(index)","productId":"EQ-1","notional":1000.00}"#
                : #""type":"InteractionLogged","clientId":"\#(client)","occurredAt":"2025-06-\#(day)T11:\#(String(format: "%02d", (index / 60) % 60)):\#(second)Z","data":{"channel":"app","kind":"inquiry"}"#
            lines += "{" + kind + "}\n"
        }
        let bytes = Array(lines.utf8)
        _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
    }
    let reader = Ledger(store: try SQLiteEventStore(path: arguments[2], readOnly: true), rules: rules)
    _ = try reader.history(client)
    var best = Double.infinity
    var steps = 0
    for _ in 0..<5 {
        let start = now()
        steps = try reader.history(client).count
        best = min(best, now() - start)
    }
    print("history_ms \(String(format: "%.1f", best * 1000))")
    print("history_events \(steps)")
    print("log_events \(try log.head().position)")

default:
    FileHandle.standardError.write(Data("unknown benchmark \(arguments[1])\n".utf8))
    exit(64)
}
