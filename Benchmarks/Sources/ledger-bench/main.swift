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
//                                         (BENCH_PAUSE=S: sleeps S seconds before the catch-up, to attach perf)
//   ledger-bench history DB CLIENT [N]    one client's history (best of 5), adding a client of N facts first
//   ledger-bench insight DB [DAY]         churn-risk scores of every client as of DAY (default: the log's last
//                                         day), read from built projections, against a full rebuild of them
//   ledger-bench late [N]                 one late fact (with its corrections) for a client of N (1,000) events, best of 5
//   ledger-bench lateimport CLIENTS FACTS [PERCENT]  one-transaction import in time order, then with PERCENT (5) of
//                                         the facts late (each recorded up to 30 days after it occurred)
//   ledger-bench launch CLIENTS           `campaign launch` of a fixed-award campaign to CLIENTS clients (audience
//                                         taken from the log, enrolments and awards in one transaction)
//   ledger-bench campaignimport CLIENTS FACTS  one-transaction import without campaigns, then with three open
//                                         multiplier campaigns enrolling every client
//   ledger-bench simulate DB              `campaign simulate` of a multiplier campaign (every client, trades) whose
//                                         window is the whole log, against a full rebuild of the projections
//   ledger-bench exportbundle DB CLIENT OUT [N]  the audit export of a client of N (10,000) events (added first
//                                         when CLIENT has no stream), written to OUT, and its offline check (best of 3)
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
    FileHandle.standardError.write(Data("usage: ledger-bench import FILE | single COUNT | rebuild DB | catchup DB [COUNT] [DAY] | history DB CLIENT [N] | insight DB [DAY] | late [N] | lateimport CLIENTS FACTS [PERCENT] | launch CLIENTS | campaignimport CLIENTS FACTS | simulate DB | exportbundle DB CLIENT OUT [N]\n".utf8))
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

case "simulate":
    let log = try SQLiteEventStore(path: arguments[2], readOnly: false)
    var first: Timestamp?
    // The first client fact (the log opens with the RulesAdopted of the import's first write).
    try log.scan(EventQuery(limit: 100)) { event in
        guard event.stream.hasPrefix("client/") else { return true }
        first = event.occurredMoment
        return false
    }
    let engine = try ProjectionEngine(store: log.projectionStore(), rules: rules)
    let rebuildStart = now()
    let run = try engine.rebuild()
    let rebuildSeconds = now() - rebuildStart
    let lastDay = try engine.store.read { try engine.store.retentionClients() }.compactMap(\.lastActivityDay).max() ?? 0
    let fromDay = (first ?? Timestamp(dayNumber: lastDay)).isoDate
    let text = #"{"id":"SIM","name":"Bench","window":{"from":"\#(fromDay)","to":"\#(Timestamp(dayNumber: lastDay).isoDate)"},"award":{"multiplier":2.0,"on":["TradeExecuted"]},"perClientCap":1000000000,"budget":1000000000000}"#
    let definition = try CampaignDefinition.parseFile(text, rules: rules)
    let start = now()
    let simulation = try CampaignAnalysis.simulate(definition, store: log, rules: rules, asOf: Timestamp(dayNumber: lastDay + 1))
    let seconds = now() - start
    print("simulate_events \(run.eventsApplied)")
    print("simulate_triggering \(simulation.triggeringEvents ?? 0)")
    print("simulate_s \(String(format: "%.3f", seconds))")
    print("simulate_rebuild_s \(String(format: "%.3f", rebuildSeconds))")
    print("simulate_of_rebuild \(String(format: "%.3f", seconds / rebuildSeconds))")

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
    if let pause = ProcessInfo.processInfo.environment["BENCH_PAUSE"], let seconds = UInt32(pause) { FileHandle.standardError.write(Data("ready \(getpid())\n".utf8)); sleep(seconds) }
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

case "exportbundle":
    // The audit export bundle of one client and its offline check (`audit verify-export`).
    guard arguments.count >= 5 else { exit(64) }
    let path = arguments[2]
    let log = try SQLiteEventStore(path: path, readOnly: false)
    let client = arguments[3]
    if try log.version(of: "client/" + client) == 0 {
        let count = arguments.count >= 6 ? Int(arguments[5]) ?? 10_000 : 10_000
        let ledger = Ledger(store: log, rules: rules)
        var lines = #"{"type":"ClientRegistered","clientId":"\#(client)","occurredAt":"2025-01-01T00:00:00Z","data":{"name":"bench","segment":"retail","investorType":"ordinary","branch":"SH"}}"# + "\n"
        let first = Timestamp(iso8601: "2025-01-02T00:00:00Z")?.millisecondsSinceEpoch ?? 0
        for index in 1..<count {
            let moment = Timestamp(millisecondsSinceEpoch: first + Int64(index) * 60_000).iso8601
            lines += #"{"type":"InteractionLogged","clientId":"\#(client)","occurredAt":"\#(moment)","data":{"channel":"app","kind":"inquiry"}}"# + "\n"
        }
        let bytes = Array(lines.utf8)
        _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
    }
    let reader = try SQLiteEventStore(path: path, readOnly: true)
    var start = now()
    let bundle = try ExportBundle(client: client, from: reader, databasePath: path, at: .now())
    print("export_bundle_s \(String(format: "%.3f", now() - start))")
    let text = bundle.lines.joined(separator: "\n") + "\n"
    try text.write(toFile: arguments[4], atomically: true, encoding: .utf8)
    let bytes = Array(text.utf8)
    var best = Double.infinity
    var report: BundleReport?
    for _ in 0..<3 {
        start = now()
        report = BundleVerifier.verify(bytes, publicKey: nil)
        best = min(best, now() - start)
    }
    guard report?.intact == true else {
        FileHandle.standardError.write(Data("the bundle does not verify: \(report?.problem ?? "")\n".utf8))
        exit(1)
    }
    print("verify_export_s \(String(format: "%.3f", best))")
    print("export_events \(bundle.eventCount)")
    print("export_bytes \(bytes.count)")
    print("log_events \(try reader.head().position)")

case "late":
    // A client with N events (deposits and trades, one an hour, in order), then a late
    // deposit dated in the middle of its history: the fact, its award and the corrections.
    let count = Int(arguments[2]) ?? 1000
    var best = Double.infinity
    var written = 0
    for round in 0..<5 {
        let log = try freshDatabase()
        let ledger = Ledger(store: log, rules: rules)
        var lines = lateBenchRegistration("L1")
        var events = 1
        var index = 0
        while events < count {
            lines += lateBenchFact("L1", index: index, hours: Int64(index))
            events += 2  // the fact and its award
            index += 1
        }
        let bytes = Array(lines.utf8)
        _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
        let late = Array(lateBenchFact("L1", index: 1_000_000 + round, hours: Int64(index / 3), deposit: 400_000).utf8)
        let start = now()
        let report = try late.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
        best = min(best, now() - start)
        written = report.factsWritten + report.decisionsWritten
        remove(log)
    }
    print("late_fact_ms \(String(format: "%.2f", best * 1000))")
    print("late_fact_rows \(written)")
    print("late_fact_client_events \(count)")

case "launch":
    // Clients registered on 2024-01-01; the campaign is launched at noon that day.
    let clients = Int(arguments[2]) ?? 100_000
    let log = try freshDatabase()
    defer { remove(log) }
    let ledger = Ledger(store: log, rules: rules, clock: FixedClock(Timestamp(iso8601: "2024-01-01T12:00:00Z") ?? Timestamp.now()))
    var registrations = ""
    for client in 0..<clients { registrations += lateBenchRegistration("B\(client)") }
    let bytes = Array(registrations.utf8)
    _ = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
    _ = try ledger.defineCampaign(fileText: benchCampaign("FIX", award: #""fixed":100"#))
    let start = now()
    let report = try ledger.launchCampaign("FIX")
    let seconds = now() - start
    print("launch_awards \(report.awards)")
    print("launch_enrolled \(report.enrolled)")
    print("launch_s \(String(format: "%.3f", seconds))")
    print("launch_awards_per_s \(Int(Double(report.awards) / seconds))")

case "campaignimport":
    guard arguments.count >= 4 else { exit(64) }
    let clients = Int(arguments[2]) ?? 1000
    let facts = Int(arguments[3]) ?? 100_000
    var registrations = ""
    for client in 0..<clients { registrations += lateBenchRegistration("B\(client)") }
    var lines = ""
    for index in 0..<facts { lines += lateBenchFact("B\(index % clients)", index: index, hours: 0, minutes: Int64(index)) }
    func run(campaigns: Int, registrations: String, lines: String) throws -> (Double, Ledger.ImportReport) {
        let log = try freshDatabase()
        defer { remove(log) }
        let ledger = Ledger(store: log, rules: rules, clock: FixedClock(Timestamp(iso8601: "2024-01-01T12:00:00Z") ?? Timestamp.now()))
        let registered = Array(registrations.utf8)
        _ = try registered.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
        for index in 0..<campaigns {
            let id = "MULT-\(index)"
            _ = try ledger.defineCampaign(fileText: benchCampaign(id, award: #""multiplier":1.5,"on":["TradeExecuted","FundsDeposited"]"#))
            _ = try ledger.launchCampaign(id)
        }
        let later = Ledger(store: log, rules: rules)
        let bytes = Array(lines.utf8)
        let start = now()
        let report = try bytes.withUnsafeBufferPointer { try later.importJSONLines($0) }
        return (now() - start, report)
    }
    let (plainSeconds, plain) = try run(campaigns: 0, registrations: registrations, lines: lines)
    let (campaignSeconds, withCampaigns) = try run(campaigns: 3, registrations: registrations, lines: lines)
    let plainRate = Double(plain.factsWritten) / plainSeconds
    let campaignRate = Double(withCampaigns.factsWritten) / campaignSeconds
    print("import_no_campaign_eps \(Int(plainRate))")
    print("import_three_campaigns_eps \(Int(campaignRate))")
    print("import_three_campaigns_decisions \(withCampaigns.decisionsWritten - plain.decisionsWritten)")
    print("import_campaign_ratio \(String(format: "%.2f", campaignRate / plainRate))")

case "lateimport":
    // The same facts imported in one transaction, first in time order, then with PERCENT of
    // them recorded late: each moved after the facts of up to 30 days after it.
    guard arguments.count >= 4 else { exit(64) }
    let clients = Int(arguments[2]) ?? 100
    let facts = Int(arguments[3]) ?? 100_000
    let percent = arguments.count >= 5 ? Int(arguments[4]) ?? 5 : 5
    var rng = UInt64(88172645463325252)
    func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
    var registrations = ""
    for client in 0..<clients { registrations += lateBenchRegistration("B\(client)") }
    // One fact every 10 minutes of world time, over the clients at random.
    var timed: [(recordAt: Int64, index: Int, line: String)] = []
    var lateCount = 0
    for index in 0..<facts {
        let minutes = Int64(index) * 10
        let line = lateBenchFact("B\(next() % UInt64(clients))", index: index, hours: 0, minutes: minutes)
        var recordAt = minutes
        if Int(next() % 100) < percent {
            recordAt += Int64(next() % (30 * 24 * 60))
            lateCount += 1
        }
        timed.append((recordAt, index, line))
    }
    func run(_ text: String) throws -> (Double, Ledger.ImportReport) {
        let log = try freshDatabase()
        defer { remove(log) }
        let ledger = Ledger(store: log, rules: rules, clock: FixedClock(Timestamp(millisecondsSinceEpoch: 2_208_988_800_000)))  // 2040: the facts run past today
        let bytes = Array(text.utf8)
        let start = now()
        let report = try bytes.withUnsafeBufferPointer { try ledger.importJSONLines($0) }
        return (now() - start, report)
    }
    let inOrder = registrations + timed.map(\.line).joined()
    let late = registrations + timed.sorted { $0.recordAt != $1.recordAt ? $0.recordAt < $1.recordAt : $0.index < $1.index }.map(\.line).joined()
    let (orderedSeconds, orderedReport) = try run(inOrder)
    let (lateSeconds, lateReport) = try run(late)
    let orderedRate = Double(orderedReport.factsWritten) / orderedSeconds
    let lateRate = Double(lateReport.factsWritten) / lateSeconds
    print("import_in_order_eps \(Int(orderedRate))")
    print("import_late_eps \(Int(lateRate))")
    print("import_late_ratio \(String(format: "%.2f", lateRate / orderedRate))")
    print("import_late_facts \(lateCount)")
    print("import_late_decisions \(lateReport.decisionsWritten - orderedReport.decisionsWritten)")

default:
    FileHandle.standardError.write(Data("unknown benchmark \(arguments[1])\n".utf8))
    exit(64)
}


/// A registration line for the late-fact benchmarks.
func lateBenchRegistration(_ client: String) -> String {
    #"{"type":"ClientRegistered","clientId":"\#(client)","occurredAt":"2024-01-01T00:00:00Z","data":{"name":"bench","segment":"retail","investorType":"ordinary","branch":"SH"}}"# + "\n"
}

/// A deposit or a trade `hours` hours and `minutes` minutes after 2024-01-02 (every third a
/// deposit, so tiers move), with a derived id so the line is the same in both orders.
func lateBenchFact(_ client: String, index: Int, hours: Int64, minutes: Int64 = 0, deposit: Int? = nil) -> String {
    let moment = Timestamp(millisecondsSinceEpoch: 1_704_153_600_000 + (hours * 60 + minutes) * 60_000)
    let id = EventID.derived(from: "bench/\(client)/\(index)")
    if let deposit {
        return #"{"eventId":"\#(id)","type":"FundsDeposited","clientId":"\#(client)","occurredAt":"\#(moment.iso8601)","data":{"amount":\#(deposit).00}}"# + "\n"
    }
    if index % 3 == 0 {
        return #"{"eventId":"\#(id)","type":"FundsDeposited","clientId":"\#(client)","occurredAt":"\#(moment.iso8601)","data":{"amount":\#(10_000 + index % 7 * 1000).00}}"# + "\n"
    }
    return #"{"eventId":"\#(id)","type":"TradeExecuted","clientId":"\#(client)","occurredAt":"\#(moment.iso8601)","data":{"orderId":"O-\#(index)","productId":"EQ-1","notional":\#(5_000 + index % 11 * 1000).00}}"# + "\n"
}

/// A campaign over 2024 with a cap and a budget that never cut.
func benchCampaign(_ id: String, award: String) -> String {
    #"{"id":"\#(id)","name":"Bench \#(id)","window":{"from":"2024-01-01","to":"2024-12-31"},"award":{\#(award)},"perClientCap":1000000000,"budget":1000000000000}"#
}
