import Foundation
import LedgerDomain
import LedgerCore
import LedgerSQLite
import LedgerStorage
import LedgerTestSupport
import Testing

/// Seeded random-input tests: mutated import lines through `ImportLineParser.parse` and mutated
/// rules files through `Rules(yaml:)`. Nothing may crash; every refusal is a typed error that
/// names where the problem is; every accepted input survives a round trip.
///
/// Each fuzzer runs in a child process of the test runner (an exit test), so that a crash is
/// reported as a failure of this test, with the input that caused it, instead of ending the run.
@Suite("Fuzz: mutated import lines and rules files")
struct FuzzTests {
    static let lineInputs = 20_000
    /// Fewer than the lines: a debug-build YAML parse of the rules file takes milliseconds.
    static let rulesInputs = 6_000

    @Test("mutated import lines: never a crash, every refusal names its line, every accepted line round-trips")
    func importLines() async throws {
        let scratch = try Workspace("fuzz-lines")
        defer { scratch.remove() }
        let current = scratch.path("current-input")
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) { [current = current as String] in
            let report = LineFuzz.run(inputs: FuzzTests.lineInputs, recordingEachInputAt: current)
            print(report)
            exit(report.contains("\nPROBLEM: ") ? 1 : 0)
        }
        Self.report(result, crashedOn: current)
    }

    @Test("mutated rules files: never a crash, every refusal names a path or a YAML position, accepted rules round-trip")
    func rulesFiles() async throws {
        let scratch = try Workspace("fuzz-rules")
        defer { scratch.remove() }
        let current = scratch.path("current-input")
        let result = await #expect(processExitsWith: .success, observing: [\.standardOutputContent]) { [current = current as String] in
            let report = RulesFuzz.run(inputs: FuzzTests.rulesInputs, recordingEachInputAt: current)
            print(report)
            exit(report.contains("\nPROBLEM: ") ? 1 : 0)
        }
        Self.report(result, crashedOn: current)
    }

    /// Prints the child's summary, records each problem it found, and names the input that was
    /// being parsed when it crashed.
    static func report(_ result: ExitTest.Result?, crashedOn current: String) {
        guard let result else {
            let input = (try? String(contentsOfFile: current, encoding: .utf8)) ?? "(not recorded)"
            Issue.record("the fuzzer's process crashed; the input being parsed was:\n\(input.debugDescription)")
            return
        }
        let output = String(decoding: result.standardOutputContent, as: UTF8.self)
        for line in output.split(separator: "\n") where !line.hasPrefix("PROBLEM: ") { print(line) }
        for problem in output.components(separatedBy: "\nPROBLEM: ").dropFirst() {
            Issue.record(Comment(rawValue: problem))
        }
        if case .exitCode(let code) = result.exitStatus, code != 0, !output.contains("PROBLEM: ") {
            Issue.record("the fuzzer's process exited with \(code): \(output.suffix(500))")
        } else if case .signal(let signal) = result.exitStatus {
            let input = (try? String(contentsOfFile: current, encoding: .utf8)) ?? "(not recorded)"
            Issue.record("the fuzzer's process crashed with signal \(signal); the input being parsed was:\n\(input.debugDescription)")
        }
    }
}

/// Keeps the input about to be parsed in a file, so that a crash can be traced to it.
final class InputRecorder {
    private let descriptor: Int32

    init(path: String) {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    }

    func record(_ bytes: [UInt8]) {
        guard descriptor >= 0 else { return }
        _ = ftruncate(descriptor, 0)
        _ = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}

enum LineFuzz {
    /// Runs the fuzzer; returns a summary, then one "\nPROBLEM: …" per problem.
    static func run(inputs: Int, recordingEachInputAt current: String) -> String {
        var rng = SeededGenerator(seed: TrialSeed.value ^ 0xF022_11E5)
        guard let seeds = try? LineMutator.seedLines() else { return "\nPROBLEM: no seed lines" }
        var accepted = 0
        var refused = 0
        var problems: [String] = []
        var fields: [String: Int] = [:]
        let recorder = InputRecorder(path: current)
        for index in 0..<inputs {
            let lineNumber = index + 1
            var bytes = Array(seeds[Int.random(in: 0..<seeds.count, using: &rng)].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) { LineMutator.mutate(&bytes, using: &rng) }
            recorder.record(bytes)
            let outcome: Result<IncomingEvent, InputError> = bytes.withUnsafeBufferPointer { buffer in
                do throws(InputError) { return .success(try ImportLineParser.parse(buffer, line: lineNumber)) } catch { return .failure(error) }
            }
            switch outcome {
            case .failure(let error):
                refused += 1
                fields[error.field ?? "(line)", default: 0] += 1
                if error.line != lineNumber || error.problem.isEmpty || !error.description.hasPrefix("line \(lineNumber)")
                    || error.field?.isEmpty == true
                {
                    problems.append("refusal without its line or a reason: \(error.description.debugDescription) for \(show(bytes))")
                }
            case .success(let event):
                accepted += 1
                problems += roundTripProblems(event, line: lineNumber).map { "\($0) for \(show(bytes))" }
            }
            if problems.count >= 20 { break }
        }
        if accepted <= inputs / 50 { problems.append("only \(accepted) mutated lines were valid: the round trip was hardly tested") }
        let summary = "fuzz (import lines): \(TrialSeed.banner): \(accepted) accepted, \(refused) refused; refusals by field: "
            + fields.sorted { $0.value > $1.value }.prefix(12).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return summary + problems.map { "\nPROBLEM: " + $0 }.joined()
    }
}

enum RulesFuzz {
    /// A YAML syntax error says where: "12:3: error: …".
    static func namesAPosition(_ problem: String) -> Bool {
        problem.range(of: #"\d+:\d+"#, options: .regularExpression) != nil
    }

    static func run(inputs: Int, recordingEachInputAt current: String) -> String {
        var rng = SeededGenerator(seed: TrialSeed.value ^ 0x7A41_E5)
        let base = Rules.defaultYAML
        guard !base.isEmpty, let defaults = try? Rules(yaml: base) else { return "\nPROBLEM: the default rules do not load" }
        var accepted = 0
        var refused = 0
        var changed = 0
        var problems: [String] = []
        var paths: [String: Int] = [:]
        let recorder = InputRecorder(path: current)
        for _ in 0..<inputs {
            var text = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) { RulesMutator.mutate(&text, using: &rng) }
            recorder.record(Array(text.utf8))
            do {
                let rules = try Rules(yaml: text)
                accepted += 1
                if rules != defaults { changed += 1 }
                problems += rulesProblems(rules).map { "\($0) in\n\(text)" }
            } catch {
                refused += 1
                let head = error.path.split(separator: ".").first.map(String.init) ?? "(root)"
                paths[head.split(separator: "[").first.map(String.init) ?? head, default: 0] += 1
                if error.problem.isEmpty {
                    problems.append("a refusal without a reason: \(error) for\n\(text)")
                } else if error.path.isEmpty, !namesAPosition(error.problem), !error.problem.contains("duplicated key(s): '"),
                    error.problem != "must be a mapping of keys to values"
                {
                    problems.append("a refusal that names neither a key path nor a YAML position: \(error) for\n\(text)")
                }
            }
            if problems.count >= 10 { break }
        }
        if changed == 0 { problems.append("no mutation produced other valid rules: the round trip was never tested") }
        let summary = "fuzz (rules): \(TrialSeed.banner): \(accepted) accepted (\(changed) differing from the defaults), \(refused) refused; refusals by section: "
            + paths.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return summary + problems.map { "\nPROBLEM: " + $0 }.joined()
    }
}

// MARK: - Import lines

private func show(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.prefix(400), as: UTF8.self).debugDescription
}

/// The line an accepted event is, written back in the import format.
func importLine(for event: IncomingEvent) -> String {
    var w = JSONWriter()
    w.beginObject()
    w.key("eventId"); w.string(event.eventId)
    w.key("type"); w.string(event.type.rawValue)
    switch event.subject {
    case .client(let id): w.key("clientId"); w.string(id)
    case .campaign(let id): w.key("campaignId"); w.string(id)
    }
    w.key("occurredAt"); w.string(event.occurredAt.iso8601)
    w.key("schemaVersion"); w.int(Int64(event.schemaVersion))
    if let expected = event.expectedVersion { w.key("expectedVersion"); w.int(expected) }
    w.key("data"); w.raw(event.dataJSON)
    w.key("metadata"); w.raw(event.metadataJSON)
    w.endObject()
    return w.text
}

/// An accepted event, re-serialized and parsed again, is the same event.
func roundTripProblems(_ event: IncomingEvent, line: Int) -> [String] {
    let text = importLine(for: event)
    let again: IncomingEvent
    do {
        again = try ImportLineParser.parse(text, line: line)
    } catch {
        return ["an accepted line does not parse once re-serialized (\(error)): \(text.debugDescription)"]
    }
    var problems: [String] = []
    if again.eventId != event.eventId || again.type != event.type || again.subject != event.subject { problems.append("identity changed") }
    if again.occurredAt != event.occurredAt { problems.append("occurredAt \(event.occurredAt.iso8601) became \(again.occurredAt.iso8601)") }
    if again.payload != event.payload || again.dataJSON != event.dataJSON { problems.append("data \(event.dataJSON) became \(again.dataJSON)") }
    if again.metadata != event.metadata || again.metadataJSON != event.metadataJSON { problems.append("metadata \(event.metadataJSON) became \(again.metadataJSON)") }
    if again.schemaVersion != event.schemaVersion || again.expectedVersion != event.expectedVersion { problems.append("versions changed") }
    return problems.map { "round trip: \($0) (\(text.debugDescription))" }
}

enum LineMutator {
    /// Valid lines: seeded synthetic activity plus hand-written lines covering every importable
    /// type, optional fields, campaign streams, offsets and odd but valid spellings.
    static func seedLines() throws -> [String] {
        var lines: [String] = []
        let generator = SyntheticData(options: .init(clients: 40, events: 1_500, seed: TrialSeed.value), rules: try Rules.defaults())
        generator.generate { lines.append($0) }
        lines += [
            #"{"type":"ClientRegistered","clientId":"C1","occurredAt":"2026-03-02","data":{"name":"张伟 Zoë","segment":"high_net_worth","investorType":"professional","branch":"上海"},"metadata":{"actor":"crm","channel":"branch","correlationId":"c-1","causationId":"x-2"}}"#,
            #"{"eventId":"7D1C2F0E-8A5B-4C3D-9E1F-0A1B2C3D4E5F","type":"ClientProfileUpdated","clientId":"C1","occurredAt":"2026-03-02t09:31:00.123456z","data":{"segment":"retail"},"expectedVersion":3}"#,
            #"{"type":"RiskAssessed","clientId":"C_1-a","occurredAt":"2026-03-02T09:31:00+08:00","schemaVersion":1,"data":{"level":"C2","score":0}}"#,
            #"{"type":"RiskAssessed","clientId":"C1","occurredAt":"2026-03-02T09:31-0530","data":{"level":"C1","score":100,"lowestCategory":true}}"#,
            #"{"type":"FundsWithdrawn","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"amount":0.01}}"#,
            #"{"type":"ProductPurchased","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"productId":"PE-06","amount":1000000000000.00}}"#,
            #"{"type":"ProductRedeemed","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"productId":"PE-06"}}"#,
            #"{"type":"SurveyAnswered","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"nps":10}}"#,
            #"{"type":"PointsRedeemed","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"points":1000000000000,"reward":"\u00e9\ud83d\ude00 \"q\" \\"}}"#,
            #"{"type":"PointsAdjusted","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"points":-5.000,"reason":"r","approvedBy":"a"}}"#,
            #"{"type":"ClientOffboarded","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"reason":"closed"}}"#,
            #"{"type":"InteractionLogged","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"channel":"wechat","kind":"complaint"}}"#,
            #"{"type":"TradeExecuted","clientId":"C1","occurredAt":"2026-03-02T09:31:00Z","data":{"orderId":"O-1","productId":"EQ-1","notional":1.5}}"#,
            #"{"type":"CampaignDefined","campaignId":"SPRING","occurredAt":"2026-03-02T09:31:00Z","data":{"name":"Spring","definition":{"award":{"points":100},"nested":[1,2.5,"x",null,true,{"k":[]}]}}}"#,
            #"{"type":"CampaignLaunched","campaignId":"SPRING","occurredAt":"2026-03-02T09:31:00Z","data":{}}"#,
            #"{"type":"CampaignClosed","campaignId":"SPRING","occurredAt":"2026-03-02T09:31:00Z","data":{"reason":"done"}}"#,
            " \t{ \"type\" : \"SurveyAnswered\" , \"clientId\" : \"C1\" , \"occurredAt\" : \"2026-03-02T09:31:00Z\" , \"data\" : { \"nps\" : 0 } } \t",
        ]
        return lines
    }

    static let tokens: [[UInt8]] = [
        "\"", "{", "}", "[", "]", ",", ":", "\\", "\\u0000", "\\ud800", "\\udc00", "\\u00e9", "é", "😀", "\u{FEFF}", "\u{2028}",
        "null", "true", "false", "1e999", "-0", "NaN", "Infinity", "9223372036854775808", "0.001", "1.0", "\"\":", "{\"a\":",
        " ", "\t", "\r", "\n", "//", "/*", "\"type\":\"PointsAwarded\"", "\"eventId\":\"x\"", ",\"data\":{}", "+08:00", "T24:00",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x00], [0xC0, 0xAF]]

    static let interestingBytes: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x20, 0x22, 0x2C, 0x2D, 0x2E, 0x30, 0x31, 0x39, 0x3A, 0x45, 0x5B, 0x5C, 0x5D, 0x65, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xFF]

    static let keys = ["eventId", "type", "clientId", "campaignId", "occurredAt", "schemaVersion", "expectedVersion", "data", "metadata",
                       "name", "segment", "investorType", "branch", "level", "score", "lowestCategory", "amount", "orderId", "productId",
                       "notional", "channel", "kind", "nps", "points", "reward", "reason", "approvedBy", "actor", "correlationId",
                       "causationId", "definition", "note"]

    static func randomValue(using rng: inout SeededGenerator) -> JSONValue {
        switch Int.random(in: 0..<14, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(["0", "-0", "1", "-1", "0.5", "100.00", "1e3", "1E-2", "9223372036854775807", "-9223372036854775809", "1e400", "123456789012345678901234567890", "0.000000000000000000001", "2.50"].randomElement(using: &rng) ?? "0")
        case 3: return .string("")
        case 4: return .string(String(repeating: "x", count: Int.random(in: 60...260, using: &rng)))
        case 5: return .string(["retail", "C3", "R5", "app", "visit", "Gold", "PE-06", "2026-03-02T09:31:00Z", "7d1c2f0e-8a5b-4c3d-9e1f-0a1b2c3d4e5f"].randomElement(using: &rng) ?? "")
        case 6: return .string("\u{1B}[2J\u{0}\u{7F}")
        case 7: return .string("'); DROP TABLE events;-- 😀 \u{202E}")
        case 8: return .array([])
        case 9: return .array([.number("1"), .string("x")])
        case 10: return .object(JSONObject())
        case 11: return .object(JSONObject([(key: "amount", value: .number("1.00"))]))
        case 12: return .string(EventType.allCases.randomElement(using: &rng)?.rawValue ?? "")
        default: return .string(["1899-12-31T23:59:59Z", "9999-12-31T23:59:59Z", "2026-02-29T00:00:00Z", "2024-02-29T23:59:59.999+14:00", "2026-03-02T09:31:00-23:59"].randomElement(using: &rng) ?? "")
        }
    }

    /// One random change: bytes, tokens, ranges, or (when the line parses) its structure.
    static func mutate(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
        let count = bytes.count
        let at = count == 0 ? 0 : Int.random(in: 0..<count, using: &rng)
        switch Int.random(in: 0..<12, using: &rng) {
        case 0 where count > 0:
            bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &rng)
        case 1 where count > 0:
            bytes[at] = interestingBytes.randomElement(using: &rng) ?? 0
        case 2:
            bytes.removeSubrange(at..<count)
        case 3, 4:
            bytes.insert(contentsOf: tokens.randomElement(using: &rng) ?? [], at: at)
        case 5 where count > 0:
            bytes.removeSubrange(at..<min(count, at + Int.random(in: 1...16, using: &rng)))
        case 6 where count > 0:
            let end = min(count, at + Int.random(in: 1...40, using: &rng))
            bytes.insert(contentsOf: Array(bytes[at..<end]), at: Int.random(in: 0...count, using: &rng))
        default:
            guard case .object(var object)? = try? JSONParser.parse(String(decoding: bytes, as: UTF8.self)) else {
                bytes.insert(contentsOf: tokens.randomElement(using: &rng) ?? [], at: at)
                return
            }
            mutateStructure(&object, using: &rng)
            var writer = JSONWriter()
            writer.value(.object(object))
            bytes = writer.bytes
        }
    }

    /// Swaps, renames, removes, replaces, duplicates or moves fields, at the top level or in
    /// `data` / `metadata`.
    static func mutateStructure(_ object: inout JSONObject, using rng: inout SeededGenerator) {
        let nestedKey = ["data", "metadata", ""].randomElement(using: &rng) ?? ""
        var target = object
        if !nestedKey.isEmpty, case .object(let nested)? = object[nestedKey] { target = nested }
        var members = target.members
        let pick = { (rng: inout SeededGenerator) -> Int in members.isEmpty ? 0 : Int.random(in: 0..<members.count, using: &rng) }
        switch Int.random(in: 0..<7, using: &rng) {
        case 0 where members.count >= 2:  // swap two values
            let i = pick(&rng), j = pick(&rng)
            let value = members[i].value
            members[i].value = members[j].value
            members[j].value = value
        case 1 where !members.isEmpty:  // rename a key
            members[pick(&rng)].key = keys.randomElement(using: &rng) ?? "x"
        case 2 where !members.isEmpty:
            members.remove(at: pick(&rng))
        case 3 where !members.isEmpty:
            members[pick(&rng)].value = randomValue(using: &rng)
        case 4 where !members.isEmpty:  // duplicate a key
            members.append(members[pick(&rng)])
        case 5:  // a field from elsewhere
            members.insert((key: keys.randomElement(using: &rng) ?? "x", value: randomValue(using: &rng)), at: pick(&rng))
        default:  // another event type with the same fields
            if let index = object.members.firstIndex(where: { $0.key == "type" }) {
                object.members[index].value = .string(EventType.allCases.randomElement(using: &rng)?.rawValue ?? "")
            }
            return
        }
        if nestedKey.isEmpty || object[nestedKey] == nil {
            object.members = members
        } else if let index = object.members.firstIndex(where: { $0.key == nestedKey }) {
            object.members[index].value = .object(JSONObject(members))
        }
    }
}

// MARK: - Rules files

enum RulesMutator {
    static let numbers = ["-1", "0", "1", "1.5", "2.0005", "1e309", ".nan", ".inf", "-.inf", "99999999999999999999", "9223372036854775807",
                          "-9223372036854775808", "\"abc\"", "''", "null", "~", "true", "0x1F", "1_000", "0o17", "1e15", "0.001", "365", "10000001"]
    static let junkLines = ["foo: bar", "- x", "&a", "*a", "!!binary aGVsbG8=", "? complex", "---", "...", "%YAML 1.2", "\t", "{", "[",
                            "\"unterminated", "key: [1, 2", "<<: *x", "  extra: 1", "    - { name: Gold, points: 1, assets: 1, multiplier: 1 }",
                            "products: []", "tiers: {}", "earning:", "lots: &l {lifetimeDays: 10}", "lifecycle: *l", "# comment", "",
                            "  - { id: MMF-01, name: dup, riskLevel: R1 }", "    points: !!str 5", "riskAssessment: {validDays: 0}",
                            "[a, b]: 1", "? [x]", "  {k: v}: 1", "lots: {? [1]: 2}"]
    static let words = ["Standard", "Silver", "Gold", "Platinum", "Diamond", "Bronze", "R0", "R6", "R1", "C3", "yes", "no", "", "null"]

    static func mutate(_ text: inout String, using rng: inout SeededGenerator) {
        var lines = text.components(separatedBy: "\n")
        guard !lines.isEmpty else { return }
        let at = Int.random(in: 0..<lines.count, using: &rng)
        switch Int.random(in: 0..<11, using: &rng) {
        case 0: lines.remove(at: at)
        case 1: lines.insert(lines[at], at: at)
        case 2: lines.swapAt(at, Int.random(in: 0..<lines.count, using: &rng))
        case 3:
            if Bool.random(using: &rng) {
                lines[at] = String(repeating: " ", count: Int.random(in: 1...4, using: &rng)) + lines[at]
            } else {
                lines[at] = String(lines[at].drop { $0 == " " }.prefix(lines[at].count))
            }
        case 4, 5: lines[at] = replaceToken(in: lines[at], matching: #"-?\d+(\.\d+)?"#, with: numbers.randomElement(using: &rng) ?? "0", using: &rng)
        case 6: lines[at] = replaceToken(in: lines[at], matching: #"\b(Standard|Silver|Gold|Platinum|Diamond|R[1-5])\b"#, with: words.randomElement(using: &rng) ?? "", using: &rng)
        case 7: lines[at] = replaceToken(in: lines[at], matching: #"[A-Za-z]+(?=:)"#, with: ["points", "per", "capPerEvent", "name", "minTier", "Points", "pts", "multiplier", "minAssets", "id", "professionalOnly"].randomElement(using: &rng) ?? "x", using: &rng)
        case 8: lines.insert(junkLines.randomElement(using: &rng) ?? "", at: at)
        case 9:
            var scalars = Array(lines[at].unicodeScalars)
            if !scalars.isEmpty {
                scalars[Int.random(in: 0..<scalars.count, using: &rng)] = ["\"", "'", ":", "{", "}", "[", "]", ",", "#", "&", "*", "!", "|", ">", "\t", "é", "😀", "\u{0}", "\u{FEFF}"].randomElement(using: &rng) ?? " "
                lines[at] = String(String.UnicodeScalarView(scalars))
            }
        default:
            let joined = lines.joined(separator: "\n")
            let cut = Int.random(in: 0...joined.unicodeScalars.count, using: &rng)
            text = String(String.UnicodeScalarView(joined.unicodeScalars.prefix(cut)))
            return
        }
        text = lines.joined(separator: "\n")
    }

    /// Replaces one random match of `pattern` in `line`.
    static func replaceToken(in line: String, matching pattern: String, with replacement: String, using rng: inout SeededGenerator) -> String {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return line }
        let matches = regex.matches(in: line, range: NSRange(line.startIndex..., in: line))
        guard let match = matches.randomElement(using: &rng), let range = Range(match.range, in: line) else { return line }
        return line.replacingCharacters(in: range, with: replacement)
    }
}

/// Problems with accepted rules: the invariants the loader promises, and a YAML round trip.
func rulesProblems(_ rules: Rules) -> [String] {
    var problems: [String] = []
    if rules.tiers.map(\.tier) != Tier.allCases { problems.append("tiers \(rules.tiers.map(\.tier)) are not the five in order") }
    if let first = rules.tiers.first, first.points != 0 || first.assets.cents != 0 { problems.append("Standard thresholds are not 0") }
    for (lower, higher) in zip(rules.tiers, rules.tiers.dropFirst()) {
        if higher.points <= lower.points || higher.assets <= lower.assets || higher.multiplierPermille < lower.multiplierPermille {
            problems.append("\(higher.tier) does not rise above \(lower.tier)")
        }
    }
    if rules.tiers.contains(where: { $0.multiplierPermille < 1000 }) { problems.append("a multiplier below 1.0") }
    if Set(rules.products.map(\.id)).count != rules.products.count { problems.append("duplicate product ids") }
    if rules.products.contains(where: { $0.id.isEmpty || $0.name.isEmpty }) { problems.append("a product without id or name") }
    if rules.churnedAfterDays <= rules.activeWithinDays { problems.append("churnedAfterDays is not above activeWithinDays") }
    if [rules.lotLifetimeDays, rules.qualifyingWindowDays, rules.riskAssessmentValidDays, rules.trade.per, rules.purchase.per, rules.deposit.per]
        .contains(where: { $0 < 1 })
    {
        problems.append("a period or divisor below 1")
    }
    do {
        let again = try Rules(yaml: yaml(rules))
        if again != rules { problems.append("rules written back as YAML load differently") }
        if again.version != rules.version { problems.append("the rules version changed in a round trip") }
    } catch {
        problems.append("accepted rules written back as YAML are refused: \(error)\n\(yaml(rules))")
    }
    return problems
}

/// Rules as YAML (strings as JSON strings, a valid YAML double-quoted form).
func yaml(_ rules: Rules) -> String {
    func quoted(_ text: String) -> String {
        var writer = JSONWriter()
        writer.string(text)
        return writer.text
    }
    func rate(_ rate: Rules.EarningRate) -> String {
        "{points: \(rate.points), per: \(rate.per)" + (rate.capPerEvent.map { ", capPerEvent: \($0)" } ?? "") + "}"
    }
    func permille(_ value: Int64) -> String { "\(value / 1000).\(String(format: "%03lld", value % 1000))" }
    var text = """
        earning:
          trade: \(rate(rules.trade))
          purchase: \(rate(rules.purchase))
          deposit: \(rate(rules.deposit))
          survey: {points: \(rules.surveyPoints), perQuarter: \(rules.surveysPerQuarter)}
        lots: {lifetimeDays: \(rules.lotLifetimeDays)}
        tiers:
          qualifyingWindowDays: \(rules.qualifyingWindowDays)
          guaranteeDays: \(rules.tierGuaranteeDays)
          levels:

        """
    for level in rules.tiers {
        text += "    - {name: \(level.tier.rawValue), points: \(level.points), assets: \(level.assets.decimalText), multiplier: \(permille(level.multiplierPermille))}\n"
    }
    text += """
        lifecycle: {newWithinDays: \(rules.newWithinDays), activeWithinDays: \(rules.activeWithinDays), churnedAfterDays: \(rules.churnedAfterDays)}
        riskAssessment: {validDays: \(rules.riskAssessmentValidDays)}
        products:

        """
    for product in rules.products {
        var fields = ["id: \(quoted(product.id))", "name: \(quoted(product.name))", "riskLevel: \(product.riskLevel.rawValue)"]
        if let tier = product.minTier { fields.append("minTier: \(tier.rawValue)") }
        if let assets = product.minAssets { fields.append("minAssets: \(assets.decimalText)") }
        if product.professionalOnly { fields.append("professionalOnly: true") }
        text += "  - {\(fields.joined(separator: ", "))}\n"
    }
    if rules.products.isEmpty { text = text.replacingOccurrences(of: "products:\n", with: "products: []\n") }
    let churn = rules.churnRisk
    text += """
        insight:
          churnRisk:
            bands: {medium: \(churn.mediumFrom), high: \(churn.highFrom)}
            recency: {weight: \(churn.recencyWeight), defaultGapDays: \(churn.recencyDefaultGapDays), fullFromGaps: \(churn.recencyFullFromGaps)}
            activityDrop: {weight: \(churn.activityDropWeight)}
            complaints: {weight: \(churn.complaintsWeight), fullFrom: \(churn.complaintsFullFrom)}
            nps: {weight: \(churn.npsWeight), detractor: \(churn.npsDetractorPercent), passive: \(churn.npsPassivePercent), none: \(churn.npsNonePercent)}
            netOutflow: {weight: \(churn.netOutflowWeight)}

        """
    return text
}
