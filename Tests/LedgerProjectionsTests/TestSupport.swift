import Foundation
import LedgerTestSupport
import Testing

@testable import LedgerDomain
@testable import LedgerProjections
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

// MARK: - Rules and moments

/// The default rules of SPEC §4.
func defaultRules() throws -> Rules {
    try Rules.defaults()
}

/// The default rules with one value of the YAML replaced (the replaced text must be there).
func editedRules(replacing original: String, with replacement: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Rules {
    let yaml = Rules.defaultYAML
    #expect(yaml.contains(original), "the default rules no longer contain \(original)", sourceLocation: sourceLocation)
    return try Rules(yaml: yaml.replacingOccurrences(of: original, with: replacement))
}

/// The default rules, except that Silver needs 1,000 qualifying points (instead of 2,000).
func silverAtThousandRules() throws -> Rules {
    try editedRules(replacing: "{ name: Silver,   points: 2000,", with: "{ name: Silver,   points: 1000,")
}

/// Runs `body` while every write of the given kind fails inside SQLite: a trigger raises an
/// error, so the statement fails and the transaction around it is rolled back (a simulated
/// crash at that point of the work, whatever the engine's SQL looks like).
///
/// `insertInto` fails the first row written to a live table (a catch-up then fails after it
/// has written other rows); `checkpoint` fails the update of the checkpoints, the last step
/// of a catch-up and of a rebuild's swap transaction.
enum InjectedFailure {
    case insertInto(String)
    case checkpoint

    var trigger: String {
        switch self {
        case .insertInto(let table):
            return "CREATE TRIGGER test_injected_failure BEFORE INSERT ON \(table) BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
        case .checkpoint:
            return "CREATE TRIGGER test_injected_failure BEFORE UPDATE ON projection_checkpoints BEGIN SELECT RAISE(ABORT, 'simulated crash'); END"
        }
    }
}

func withInjectedFailure<R>(_ failure: InjectedFailure, on connection: Connection, _ body: () throws -> R) throws -> R {
    try connection.execute(failure.trigger)
    defer { try? connection.execute("DROP TRIGGER IF EXISTS test_injected_failure") }
    return try body()
}

// MARK: - A temporary ledger on a file

/// A ledger on a fresh temporary database file; the directory (with `-wal` and `-shm`) is
/// removed afterwards.
struct TemporaryLedger {
    let directory: URL
    let path: String
    let log: SQLiteEventStore

    func ledger(_ rules: Rules) -> Ledger { Ledger(store: log, rules: rules) }

    func engine(_ rules: Rules, asOf: Timestamp) throws -> ProjectionEngine {
        try ProjectionEngine(store: log.projectionStore(), rules: rules, asOf: asOf)
    }
}

func withTemporaryLedger<R>(_ body: (TemporaryLedger) throws -> R) throws -> R {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("LedgerProjectionsTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("ledger.sqlite").path
    let (log, created) = try SQLiteEventStore.create(at: path)
    #expect(created)
    return try body(TemporaryLedger(directory: directory, path: path, log: log))
}

// MARK: - Import lines (SPEC §2)

/// Builds JSON Lines of client events; every line gets a fresh eventId.
enum Line {
    static func event(_ type: String, _ client: String, _ occurredAt: Timestamp, _ data: String) -> String {
        #"{"eventId":"\#(UUID().uuidString)","type":"\#(type)","clientId":"\#(client)","occurredAt":"\#(occurredAt.iso8601)","data":\#(data)}"#
    }

    static func registered(_ client: String, _ moment: Timestamp, investorType: String = "ordinary") -> String {
        event("ClientRegistered", client, moment,
              #"{"name":"Client \#(client)","segment":"retail","investorType":"\#(investorType)","branch":"Shanghai"}"#)
    }

    static func risk(_ client: String, _ moment: Timestamp, level: String, lowest: Bool = false) -> String {
        event("RiskAssessed", client, moment, #"{"level":"\#(level)","score":50,"lowestCategory":\#(lowest)}"#)
    }

    static func deposit(_ client: String, _ moment: Timestamp, _ amount: String) -> String {
        event("FundsDeposited", client, moment, #"{"amount":\#(amount)}"#)
    }

    static func withdraw(_ client: String, _ moment: Timestamp, _ amount: String) -> String {
        event("FundsWithdrawn", client, moment, #"{"amount":\#(amount)}"#)
    }

    static func trade(_ client: String, _ moment: Timestamp, _ notional: String, order: String = "O-1") -> String {
        event("TradeExecuted", client, moment, #"{"orderId":"\#(order)","productId":"EQ-600519","notional":\#(notional)}"#)
    }

    static func purchase(_ client: String, _ moment: Timestamp, _ product: String, _ amount: String) -> String {
        event("ProductPurchased", client, moment, #"{"productId":"\#(product)","amount":\#(amount)}"#)
    }

    static func redeemProduct(_ client: String, _ moment: Timestamp, _ product: String) -> String {
        event("ProductRedeemed", client, moment, #"{"productId":"\#(product)"}"#)
    }

    static func interaction(_ client: String, _ moment: Timestamp) -> String {
        event("InteractionLogged", client, moment, #"{"channel":"app","kind":"inquiry"}"#)
    }

    static func survey(_ client: String, _ moment: Timestamp, nps: Int) -> String {
        event("SurveyAnswered", client, moment, #"{"nps":\#(nps)}"#)
    }

    static func redeemPoints(_ client: String, _ moment: Timestamp, _ points: Int64) -> String {
        event("PointsRedeemed", client, moment, #"{"points":\#(points),"reward":"Voucher"}"#)
    }

    static func adjust(_ client: String, _ moment: Timestamp, _ points: Int64) -> String {
        event("PointsAdjusted", client, moment, #"{"points":\#(points),"reason":"Correction","approvedBy":"ops"}"#)
    }

    static func profile(_ client: String, _ moment: Timestamp, investorType: String) -> String {
        event("ClientProfileUpdated", client, moment, #"{"investorType":"\#(investorType)"}"#)
    }

    static func offboarded(_ client: String, _ moment: Timestamp) -> String {
        event("ClientOffboarded", client, moment, #"{"reason":"closed the account"}"#)
    }
}

extension Ledger {
    /// Imports JSON Lines through `importJSONLines` (one transaction).
    @discardableResult
    func importLines(_ lines: [String]) throws -> ImportReport {
        let bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        return try bytes.withUnsafeBufferPointer { try importJSONLines($0) }
    }
}

// MARK: - Reading projection tables

/// The projection tables with the columns of their primary keys.
let projectionTables: [(name: String, key: String)] = [
    ("membership", "client"),
    ("membership_tier_history", "client, seq"),
    ("retention_clients", "client"),
    ("retention_months", "client, month"),
    ("eligibility", "client, product"),
    ("projection_fold", "client"),
    ("projection_fold_pages", "client, page"),
]

/// Every row of every projection table (each value `quote()`d, so NULL, text, numbers and
/// blobs are told apart), ordered by primary key, plus the checkpoints (without `built_at`).
struct ProjectionDump: Equatable, CustomStringConvertible {
    var tables: [String: [String]]
    var checkpoints: [String]

    var description: String {
        projectionTables.map { "\($0.name): \(tables[$0.name]?.count ?? 0) rows" }.joined(separator: ", ")
            + "; checkpoints \(checkpoints)"
    }

    /// The first difference, table by table, for a readable failure.
    func firstDifference(from other: ProjectionDump) -> String? {
        for (name, _) in projectionTables {
            let mine = tables[name] ?? []
            let theirs = other.tables[name] ?? []
            if mine == theirs { continue }
            if mine.count != theirs.count { return "\(name): \(mine.count) rows vs \(theirs.count) rows" }
            for (a, b) in zip(mine, theirs) where a != b { return "\(name): \(a)\n    vs \(b)" }
        }
        if checkpoints != other.checkpoints { return "checkpoints \(checkpoints) vs \(other.checkpoints)" }
        return nil
    }
}

func columns(of table: String, _ connection: Connection) throws -> [String] {
    let statement = try connection.prepare("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid")
    var names: [String] = []
    while try statement.step() { names.append(statement.string(at: 0)) }
    return names
}

/// Rows of one table, each as `quote(col1)|quote(col2)|…`, ordered by `orderBy`.
func rows(of table: String, orderBy: String, _ connection: Connection) throws -> [String] {
    let names = try columns(of: table, connection)
    let select = names.map { "quote(\($0))" }.joined(separator: " || '|' || ")
    let statement = try connection.prepare("SELECT \(select) FROM \(table) ORDER BY \(orderBy)")
    var result: [String] = []
    while try statement.step() { result.append(statement.string(at: 0)) }
    return result
}

/// Every projection row and checkpoint, read in one read transaction of `connection`.
func dumpProjections(_ connection: Connection) throws -> ProjectionDump {
    try connection.read {
        var tables: [String: [String]] = [:]
        for (name, key) in projectionTables {
            tables[name] = try rows(of: name, orderBy: key, connection)
        }
        let checkpoints = try connection.prepare(
            "SELECT name || '|' || position || '|' || rules_version FROM projection_checkpoints ORDER BY name")
        var marks: [String] = []
        while try checkpoints.step() { marks.append(checkpoints.string(at: 0)) }
        return ProjectionDump(tables: tables, checkpoints: marks)
    }
}

/// Row counts of every projection table.
func rowCounts(_ connection: Connection) throws -> [String: Int64] {
    var counts: [String: Int64] = [:]
    for (name, _) in projectionTables {
        counts[name] = try connection.scalarInt("SELECT count(*) FROM \(name)")
    }
    return counts
}

/// Names of tables and indexes that look like a rebuild's fresh copies.
func newTableNames(_ connection: Connection) throws -> [String] {
    let statement = try connection.prepare("SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_new%' ESCAPE '\\' ORDER BY name")
    var names: [String] = []
    while try statement.step() { names.append(statement.string(at: 0)) }
    return names
}

/// The checkpoint positions of the four rows (three projections and the fold).
func checkpointPositions(_ connection: Connection) throws -> [String: Int64] {
    let statement = try connection.prepare("SELECT name, position FROM projection_checkpoints")
    var result: [String: Int64] = [:]
    while try statement.step() { result[statement.string(at: 0)] = statement.int64(at: 1) }
    return result
}

/// Number of client events in the log after `position`.
func clientEvents(after position: Int64, _ connection: Connection) throws -> Int64 {
    try connection.scalarInt(
        "SELECT count(*) FROM events WHERE position > ? AND stream >= 'client/' AND stream < 'client0'", [String(position)])
}

// MARK: - A deterministic history generator

/// SplitMix64: a small seeded generator, so every run builds the same history.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Realistic client histories in import batches, each batch later in time than the one
/// before (plus a few backdated corrections). Every line is valid when the batches are
/// imported in order: points are redeemed only from what trades surely earned, products
/// are redeemed only when held, nothing follows an offboarding. The span stays below the
/// 730-day lot lifetime so no lot expires.
struct HistoryGenerator {
    private struct Client {
        var id: String
        var registered: Timestamp
        var offboarded = false
        var holdings: Set<String> = []
        /// Points the client surely has (base points of trades, before any multiplier).
        var surePoints: Int64 = 0
    }

    private var random: SeededGenerator
    private var clients: [Client] = []
    private var nextClient = 1
    private let products = ["MMF-01", "BOND-02", "FUND-03", "STRUCT-04", "OPT-05", "PE-06"]
    static let start = at("2024-01-01T00:00:00Z")

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed)
    }

    /// One batch covering days [fromDay, toDay) after `start`, registering `newClients`.
    mutating func batch(fromDay: Int64, toDay: Int64, newClients: Int) -> [String] {
        var lines: [(order: Int64, seq: Int, text: String)] = []
        var seq = 0
        func add(_ order: Timestamp, _ text: String) {
            lines.append((order.millisecondsSinceEpoch, seq, text))
            seq += 1
        }
        func moment(_ day: Int64) -> Timestamp {
            Self.start.adding(days: day).adding(seconds: Int64.random(in: 0..<86_000, using: &random))
        }
        for _ in 0..<newClients {
            let id = String(format: "C%04d", nextClient)
            nextClient += 1
            let registered = moment(fromDay)
            add(registered, Line.registered(id, registered, investorType: Int.random(in: 0..<5, using: &random) == 0 ? "professional" : "ordinary"))
            clients.append(Client(id: id, registered: registered))
        }
        for index in clients.indices where !clients[index].offboarded {
            let id = clients[index].id
            let count = Int.random(in: 0...7, using: &random)
            var times = (0..<count).map { _ in moment(Int64.random(in: fromDay..<toDay, using: &random)) }
                .filter { $0 > clients[index].registered }
            times.sort()
            for time in times {
                switch Int.random(in: 0..<100, using: &random) {
                case 0..<25:
                    let yuan = Int64.random(in: 1_000...300_000, using: &random)
                    add(time, Line.trade(id, time, "\(yuan).\(Int.random(in: 10...99, using: &random))", order: "O-\(seq)"))
                    clients[index].surePoints += min(yuan / 100, 5_000)
                case 25..<37:
                    let yuan = Int64.random(in: 10_000...2_500_000, using: &random)
                    add(time, Line.deposit(id, time, "\(yuan)"))
                case 37..<42:
                    add(time, Line.withdraw(id, time, "\(Int64.random(in: 100...5_000, using: &random)).50"))
                case 42..<52:
                    let product = products[Int.random(in: 0..<products.count, using: &random)]
                    add(time, Line.purchase(id, time, product, "\(Int64.random(in: 1_000...200_000, using: &random))"))
                    clients[index].holdings.insert(product)
                case 52..<57:
                    if let product = clients[index].holdings.sorted().first {
                        add(time, Line.redeemProduct(id, time, product))
                        clients[index].holdings.remove(product)
                    }
                case 57..<70:
                    add(time, Line.interaction(id, time))
                case 70..<78:
                    add(time, Line.survey(id, time, nps: Int.random(in: 0...10, using: &random)))
                case 78..<86:
                    let level = Int.random(in: 1...5, using: &random)
                    add(time, Line.risk(id, time, level: "C\(level)", lowest: level == 1 && Bool.random(using: &random)))
                case 86..<92:
                    if clients[index].surePoints >= 10 {
                        let points = Int64.random(in: 1...(clients[index].surePoints / 2), using: &random)
                        add(time, Line.redeemPoints(id, time, points))
                        clients[index].surePoints -= points
                    }
                case 92..<95:
                    let points = Int64.random(in: 1...500, using: &random)
                    add(time, Line.adjust(id, time, points))
                case 95..<97:
                    add(time, Line.profile(id, time, investorType: Bool.random(using: &random) ? "professional" : "ordinary"))
                default:
                    // A backdated correction: it happened between registration and now, and is
                    // recorded with this batch.
                    let span = time.millisecondsSinceEpoch - clients[index].registered.millisecondsSinceEpoch
                    let earlier = Timestamp(millisecondsSinceEpoch: clients[index].registered.millisecondsSinceEpoch + span / 3 + 1000)
                    add(time, Line.interaction(id, earlier))
                }
            }
            if Int.random(in: 0..<40, using: &random) == 0, let last = times.last {
                let end = last.adding(seconds: 60)
                add(end, Line.offboarded(id, end))
                clients[index].offboarded = true
            }
        }
        return lines.sorted { ($0.order, $0.seq) < ($1.order, $1.seq) }.map(\.text)
    }
}

/// Batches of one generated history: [0, 120), [120, 300), [300, 420), [420, 560) days.
func generatedBatches(seed: UInt64 = 42, scale: Int = 1) -> [[String]] {
    var generator = HistoryGenerator(seed: seed)
    return [
        generator.batch(fromDay: 0, toDay: 120, newClients: 30 * scale),
        generator.batch(fromDay: 120, toDay: 300, newClients: 20 * scale),
        generator.batch(fromDay: 300, toDay: 420, newClients: 15 * scale),
        generator.batch(fromDay: 420, toDay: 560, newClients: 10 * scale),
    ]
}

/// The as-of moment of the generated histories (after the last batch).
let generatedAsOf = at("2025-09-30T00:00:00Z")

// MARK: - Expecting errors

/// Runs `body` and returns the error it throws; records an issue when it throws nothing.
/// (Used instead of `#expect(throws:)`, which Swift 6.3.1 can miscompile inside closures.)
@discardableResult
func expectSomeError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> (any Error)? {
    do {
        try body()
    } catch {
        return error
    }
    Issue.record("expected an error, nothing was thrown", sourceLocation: sourceLocation)
    return nil
}

/// The error a test throws on purpose to roll a transaction back (a simulated crash).
struct SimulatedCrash: Error {}

