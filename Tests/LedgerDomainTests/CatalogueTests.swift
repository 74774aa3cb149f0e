import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerDomain
import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

// MARK: - Golden examples and JSON Schemas

/// The golden examples under `Fixtures/golden` and the JSON Schemas under `schemas/`.
enum Golden {
    struct Invalid {
        var data: JSONObject
        var field: String
        var why: String
    }

    static var fixtures: URL {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
                throw FieldError(field: "Fixtures", problem: "test resources are missing")
            }
            return url.appendingPathComponent("golden")
        }
    }

    /// The repository root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func examples(_ kind: String, _ name: String) throws -> [JSONObject] {
        let text = try String(contentsOf: try fixtures.appendingPathComponent("\(kind)/\(name).json"), encoding: .utf8)
        guard case .array(let items) = try JSONParser.parse(text) else {
            throw FieldError(field: name, problem: "golden file is not an array")
        }
        return try items.map { item in
            guard case .object(let object) = item else { throw FieldError(field: name, problem: "golden example is not an object") }
            return object
        }
    }

    static func valid(_ name: String) throws -> [JSONObject] { try examples("valid", name) }

    static func invalid(_ name: String) throws -> [Invalid] {
        try examples("invalid", name).map { example in
            guard case .object(let data)? = example["data"], case .string(let field)? = example["field"],
                case .string(let why)? = example["why"]
            else { throw FieldError(field: name, problem: "invalid golden example without data, field and why") }
            return Invalid(data: data, field: field, why: why)
        }
    }

    static func schema(_ relativePath: String) throws -> MiniJSONSchema {
        try MiniJSONSchema(data: try Data(contentsOf: repositoryRoot.appendingPathComponent("schemas/\(relativePath)")))
    }

    static func schema(for type: EventType) throws -> MiniJSONSchema {
        try schema("events/\(type.rawValue).schema.json")
    }

    /// The Foundation form MiniJSONSchema validates.
    static func foundation(_ object: JSONObject) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(JSONValue.object(object).compactText.utf8), options: [.fragmentsAllowed])
    }
}

@Suite("Event catalogue")
struct CatalogueTests {
    // MARK: Money

    struct AmountCase: Sendable, CustomTestStringConvertible {
        var text: String
        /// What `Money.parse` gives: cents, or the reason it refuses.
        var parsed: Result<Int64, Money.AmountError>
        /// Whether an event's amount field accepts it (positive, at most 2 decimals, not too large).
        var acceptedAsAmount: Bool
        var testDescription: String { text }
    }

    static let amounts: [AmountCase] = [
        AmountCase(text: "0.01", parsed: .success(1), acceptedAsAmount: true),
        AmountCase(text: "0.07", parsed: .success(7), acceptedAsAmount: true),
        AmountCase(text: "10.5", parsed: .success(1050), acceptedAsAmount: true),
        AmountCase(text: "10.50", parsed: .success(1050), acceptedAsAmount: true),
        AmountCase(text: "10.500", parsed: .success(1050), acceptedAsAmount: true),
        AmountCase(text: "10", parsed: .success(1000), acceptedAsAmount: true),
        AmountCase(text: "125000.00", parsed: .success(12_500_000), acceptedAsAmount: true),
        AmountCase(text: "999999999999.99", parsed: .success(99_999_999_999_999), acceptedAsAmount: true),
        AmountCase(text: "1000000000000", parsed: .success(100_000_000_000_000), acceptedAsAmount: true),
        AmountCase(text: "1000000000000.00", parsed: .success(100_000_000_000_000), acceptedAsAmount: true),
        AmountCase(text: "10.001", parsed: .failure(.tooManyDecimals), acceptedAsAmount: false),
        AmountCase(text: "0.005", parsed: .failure(.tooManyDecimals), acceptedAsAmount: false),
        AmountCase(text: "1e5", parsed: .failure(.exponent), acceptedAsAmount: false),
        AmountCase(text: "1E5", parsed: .failure(.exponent), acceptedAsAmount: false),
        AmountCase(text: "1.5e2", parsed: .failure(.exponent), acceptedAsAmount: false),
        AmountCase(text: "1000000000000.01", parsed: .failure(.tooLarge), acceptedAsAmount: false),
        AmountCase(text: "1000000000001", parsed: .failure(.tooLarge), acceptedAsAmount: false),
        AmountCase(text: "99999999999999999999999", parsed: .failure(.tooLarge), acceptedAsAmount: false),
        AmountCase(text: "0", parsed: .success(0), acceptedAsAmount: false),
        AmountCase(text: "0.00", parsed: .success(0), acceptedAsAmount: false),
        AmountCase(text: "-5", parsed: .success(-500), acceptedAsAmount: false),
        AmountCase(text: "-0.01", parsed: .success(-1), acceptedAsAmount: false),
    ]

    @Test("Money.parse and the amount field", arguments: amounts)
    func money(_ amount: AmountCase) throws {
        switch (Money.parse(amount.text), amount.parsed) {
        case (.success(let money), .success(let cents)):
            #expect(money.cents == cents)
        case (.failure(let reason), .failure(let expected)):
            #expect(reason == expected)
        case (let actual, let expected):
            Issue.record("Money.parse(\(amount.text)) gave \(actual), expected \(expected)")
        }
        let data = try #require(try? JSONParser.parse("{\"amount\":\(amount.text)}"))
        guard case .object(let object) = data else { Issue.record("not an object"); return }
        for type in [EventType.fundsDeposited, .fundsWithdrawn] {
            do {
                let payload = try EventPayload.decode(type: type, schemaVersion: 1, data: object)
                #expect(amount.acceptedAsAmount, "accepted \(amount.text) as \(payload)")
                if case .success(let cents) = amount.parsed {
                    #expect(payload == (type == .fundsDeposited ? .fundsDeposited(amount: Money(cents: cents)) : .fundsWithdrawn(amount: Money(cents: cents))))
                }
            } catch {
                #expect(!amount.acceptedAsAmount, "refused \(amount.text): \(error)")
                #expect(error.field == "data.amount")
            }
        }
    }

    @Test("Money writes two decimals, and groups thousands for people")
    func moneyText() {
        #expect(Money(cents: 12_500_000).decimalText == "125000.00")
        #expect(Money(cents: 7).decimalText == "0.07")
        #expect(Money(cents: 1050).decimalText == "10.50")
        #expect(Money(cents: -123_456_789).decimalText == "-1234567.89")
        #expect(Money(cents: 123_456_789).formatted == "1,234,567.89")
        #expect(Money(cents: 100_000).formatted == "1,000.00")
        #expect(Money(cents: 99_999).formatted == "999.99")
    }

    // MARK: Golden payloads, Swift types and JSON Schemas in step

    @Test("every event type has golden examples and a JSON Schema", arguments: EventType.allCases)
    func goldenFilesExist(_ type: EventType) throws {
        #expect(try !Golden.valid(type.rawValue).isEmpty)
        #expect(try !Golden.invalid(type.rawValue).isEmpty)
        _ = try Golden.schema(for: type)
    }

    @Test("golden valid payloads decode and satisfy the JSON Schema", arguments: EventType.allCases)
    func goldenValid(_ type: EventType) throws {
        let schema = try Golden.schema(for: type)
        for (index, data) in try Golden.valid(type.rawValue).enumerated() {
            do {
                _ = try EventPayload.decode(type: type, schemaVersion: type.currentSchemaVersion, data: data)
            } catch {
                Issue.record("\(type.rawValue) valid[\(index)] \(JSONValue.object(data).compactText.prefix(120)) refused by Swift: \(error)")
            }
            let errors = schema.errors(for: try Golden.foundation(data))
            #expect(errors.isEmpty, "\(type.rawValue) valid[\(index)] refused by the JSON Schema: \(errors)")
        }
    }

    @Test("golden invalid payloads are refused, naming the field, by Swift and by the JSON Schema", arguments: EventType.allCases)
    func goldenInvalid(_ type: EventType) throws {
        let schema = try Golden.schema(for: type)
        for (index, example) in try Golden.invalid(type.rawValue).enumerated() {
            let label = "\(type.rawValue) invalid[\(index)] (\(example.why)) \(JSONValue.object(example.data).compactText.prefix(100))"
            do {
                let payload = try EventPayload.decode(type: type, schemaVersion: type.currentSchemaVersion, data: example.data)
                Issue.record("\(label) accepted by Swift as \(payload)")
            } catch {
                if example.field.isEmpty {
                    #expect(error.field == "data" || error.field.hasPrefix("data."), "\(label): \(error)")
                } else {
                    #expect(error.field == "data.\(example.field)", "\(label): \(error)")
                }
            }
            let errors = schema.errors(for: try Golden.foundation(example.data))
            #expect(!errors.isEmpty, "\(label) accepted by the JSON Schema")
            if !example.field.isEmpty {
                #expect(errors.contains { $0.hasPrefix("$.\(example.field):") }, "\(label): schema errors \(errors)")
            }
        }
    }

    @Test("encoding then decoding gives the same payload, and the ledger's own JSON satisfies the schema", arguments: EventType.allCases)
    func payloadRoundTrip(_ type: EventType) throws {
        let schema = try Golden.schema(for: type)
        for data in try Golden.valid(type.rawValue) {
            guard let payload = try? EventPayload.decode(type: type, schemaVersion: type.currentSchemaVersion, data: data) else {
                continue  // reported by goldenValid
            }
            #expect(payload.type == type)
            let written = payload.dataJSON
            guard case .object(let reread) = try JSONParser.parse(written) else {
                Issue.record("\(type.rawValue): dataJSON is not an object: \(written)")
                continue
            }
            #expect(try EventPayload.decode(type: type, schemaVersion: type.currentSchemaVersion, data: reread) == payload)
            #expect(payload.dataJSON == written, "encoding is deterministic")
            let errors = schema.errors(for: try Golden.foundation(reread))
            #expect(errors.isEmpty, "\(type.rawValue) dataJSON \(written.prefix(120)) breaks its schema: \(errors)")
        }
    }

    @Test("golden import lines: valid ones parse, invalid ones are refused naming the field, and the schema agrees")
    func goldenImportLines() throws {
        let schema = try Golden.schema("import-line.schema.json")
        for (index, object) in try Golden.valid("import-line").enumerated() {
            let text = JSONValue.object(object).compactText
            do {
                let event = try ImportLineParser.parse(text, line: 7)
                #expect(event.line == 7)
                #expect(EventID.normalized(event.eventId) == event.eventId || event.eventId.isEmpty)
            } catch {
                Issue.record("import-line valid[\(index)] refused: \(error)")
            }
            let errors = schema.errors(for: try Golden.foundation(object))
            #expect(errors.isEmpty, "import-line valid[\(index)] refused by the schema: \(errors)")
        }
        for (index, example) in try Golden.invalid("import-line").enumerated() {
            let text = JSONValue.object(example.data).compactText
            let label = "import-line invalid[\(index)] (\(example.why))"
            do {
                _ = try ImportLineParser.parse(text, line: 3)
                Issue.record("\(label) accepted")
            } catch {
                #expect(error.line == 3, "\(label)")
                let field = error.field ?? ""
                #expect(field == example.field || field.hasSuffix("." + example.field), "\(label): \(error)")
            }
            let errors = schema.errors(for: try Golden.foundation(example.data))
            #expect(!errors.isEmpty, "\(label) accepted by the schema")
        }
    }

    @Test("a golden valid import line carries what it says")
    func importLineContent() throws {
        let event = try ImportLineParser.parse(
            #"{"eventId":"7D1C2F8E-3B4A-4C5D-9E6F-0A1B2C3D4E5F","type":"TradeExecuted","clientId":"C000123","occurredAt":"2026-03-02T17:31:00+08:00","data":{"orderId":"O-88","productId":"EQ-600519","notional":125000.00},"metadata":{"actor":"oms","channel":"app"},"expectedVersion":4}"#,
            line: 1)
        #expect(event.eventId == "7d1c2f8e-3b4a-4c5d-9e6f-0a1b2c3d4e5f")
        #expect(event.type == .tradeExecuted)
        #expect(event.subject == .client("C000123"))
        #expect(event.occurredAt == at("2026-03-02T09:31:00Z"))
        #expect(event.payload == .tradeExecuted(orderId: "O-88", productId: "EQ-600519", notional: Money(cents: 12_500_000)))
        #expect(event.metadata == EventMetadata(actor: "oms", channel: "app"))
        #expect(event.expectedVersion == 4)
    }

    struct NullCase: Sendable, CustomTestStringConvertible {
        var type: EventType
        var data: String
        var field: String
        var testDescription: String { "\(type.rawValue) \(data)" }
    }

    /// JSON Schema types every optional field (`"type": "string"`, `"boolean"`…), so an explicit
    /// null is a wrong type, not an absent field. Swift must agree with the published contract.
    @Test("an explicit null in an optional field is refused, as the JSON Schema refuses it", arguments: [
        NullCase(type: .clientProfileUpdated, data: #"{"segment":"retail","name":null}"#, field: "name"),
        NullCase(type: .riskAssessed, data: #"{"level":"C1","score":5,"lowestCategory":null}"#, field: "lowestCategory"),
        NullCase(type: .pointsAwarded, data: #"{"points":5,"reason":"campaign","campaignId":null,"expiresAt":"2028-01-01T00:00:00Z"}"#, field: "campaignId"),
        NullCase(type: .campaignLaunched, data: #"{"note":null}"#, field: "note"),
        NullCase(type: .campaignClosed, data: #"{"reason":null}"#, field: "reason"),
        NullCase(type: .tradeExecuted, data: #"{"orderId":null,"productId":"P","notional":10}"#, field: "orderId"),
    ])
    func explicitNull(_ example: NullCase) throws {
        guard case .object(let data) = try JSONParser.parse(example.data) else { return }
        #expect(!(try Golden.schema(for: example.type).errors(for: try Golden.foundation(data)).isEmpty), "the schema refuses it")
        do {
            let payload = try EventPayload.decode(type: example.type, schemaVersion: example.type.currentSchemaVersion, data: data)
            Issue.record("accepted as \(payload)")
        } catch {
            #expect(error.field == "data.\(example.field)")
        }
    }

    // MARK: Schema versions and upcasting

    @Test("a RiskAssessed stored at schema version 1 is upcast with lowestCategory false")
    func upcastRiskAssessedV1() throws {
        #expect(EventType.riskAssessed.currentSchemaVersion == 2)
        let v1 = try #require(try? JSONParser.parse(#"{"level":"C1","score":10}"#))
        guard case .object(let data) = v1 else { return }
        #expect(try EventPayload.decode(type: .riskAssessed, schemaVersion: 1, data: data) == .riskAssessed(level: .c1, score: 10, lowestCategory: false))
        let upcast = try Upcaster.upcast(type: .riskAssessed, from: 1, data: data)
        #expect(upcast["lowestCategory"] == .bool(false))
        // At the current version the field is optional and also defaults to false.
        #expect(try EventPayload.decode(type: .riskAssessed, schemaVersion: 2, data: data) == .riskAssessed(level: .c1, score: 10, lowestCategory: false))
    }

    @Test("a RiskAssessed at schema version 1 may not carry lowestCategory")
    func refuseLowestCategoryInV1() throws {
        for flag in ["true", "false"] {
            guard case .object(let data) = try JSONParser.parse(#"{"level":"C1","score":10,"lowestCategory":\#(flag)}"#) else { return }
            #expect(throws: FieldError.self) { try EventPayload.decode(type: .riskAssessed, schemaVersion: 1, data: data) }
            do {
                _ = try EventPayload.decode(type: .riskAssessed, schemaVersion: 1, data: data)
            } catch {
                #expect(error.field == "data.lowestCategory")
            }
        }
    }

    @Test("lowestCategory is only for C1")
    func lowestCategoryOnlyForC1() throws {
        guard case .object(let data) = try JSONParser.parse(#"{"level":"C2","score":10,"lowestCategory":true}"#) else { return }
        #expect(throws: FieldError(field: "data.lowestCategory", problem: "only a C1 client can be in the lowest category, level is C2")) {
            try EventPayload.decode(type: .riskAssessed, schemaVersion: 2, data: data)
        }
    }

    @Test("a corrected TierChanged names the decision it corrects: required at version 2, only with reason corrected")
    func tierChangedCorrects() throws {
        #expect(EventType.tierChanged.currentSchemaVersion == 2)
        func data(_ text: String) throws -> JSONObject {
            guard case .object(let object) = try JSONParser.parse(text) else { throw FieldError(field: "data", problem: "not an object") }
            return object
        }
        let named = try data(#"{"from":"Silver","to":"Gold","reason":"corrected","corrects":"E-1"}"#)
        #expect(try EventPayload.decode(type: .tierChanged, schemaVersion: 2, data: named)
            == .tierChanged(from: .silver, to: .gold, reason: .corrected, corrects: "E-1"))
        let unnamed = try data(#"{"from":"Silver","to":"Gold","reason":"corrected"}"#)
        #expect(throws: FieldError(field: "data.corrects", problem: "is required with reason corrected: the eventId of the TierChanged it corrects")) {
            try EventPayload.decode(type: .tierChanged, schemaVersion: 2, data: unnamed)
        }
        let misplaced = try data(#"{"from":"Standard","to":"Silver","reason":"qualified","corrects":"E-1"}"#)
        #expect(throws: FieldError(field: "data.corrects", problem: "is only for reason corrected, reason is qualified")) {
            try EventPayload.decode(type: .tierChanged, schemaVersion: 2, data: misplaced)
        }
        // Version 1, before the field: a correction is read without it, and may not carry it.
        #expect(try EventPayload.decode(type: .tierChanged, schemaVersion: 1, data: unnamed)
            == .tierChanged(from: .silver, to: .gold, reason: .corrected, corrects: nil))
        #expect(throws: FieldError(field: "data.corrects", problem: "is not part of TierChanged version 1")) {
            try EventPayload.decode(type: .tierChanged, schemaVersion: 1, data: named)
        }
        // The fast reader of canonical payloads agrees, and leaves the refusals to the full parser.
        for (payload, expected) in [(named, true), (misplaced, false), (unnamed, false)] {
            let bytes = Array(JSONValue.object(payload).compactText.utf8)
            let read = bytes.withUnsafeBufferPointer { CanonicalPayloadReader.decode(type: .tierChanged, schemaVersion: 2, bytes: $0) }
            #expect((read != nil) == expected)
        }
    }

    @Test("schema versions outside 1…current are refused", arguments: EventType.allCases)
    func schemaVersionOutOfRange(_ type: EventType) throws {
        let data = try #require(Golden.valid(type.rawValue).first)
        for version in [0, -1, type.currentSchemaVersion + 1, 99] {
            do {
                let payload = try EventPayload.decode(type: type, schemaVersion: version, data: data)
                Issue.record("\(type.rawValue) at version \(version) accepted as \(payload)")
            } catch {
                #expect(error.field == "schemaVersion")
                #expect(error.problem.contains("\(version)"))
            }
        }
    }

    @Test("an import line with a schema version beyond the current one is refused")
    func importLineSchemaVersionTooNew() throws {
        let text = #"{"type":"RiskAssessed","clientId":"C1","occurredAt":"2026-01-01T00:00:00Z","schemaVersion":3,"data":{"level":"C2","score":40}}"#
        #expect(throws: InputError.self) { try ImportLineParser.parse(text, line: 2) }
        do {
            _ = try ImportLineParser.parse(text, line: 2)
        } catch {
            #expect(error.line == 2)
            #expect(error.field == "schemaVersion")
        }
        let v1 = #"{"type":"RiskAssessed","clientId":"C1","occurredAt":"2026-01-01T00:00:00Z","schemaVersion":1,"data":{"level":"C2","score":40}}"#
        let event = try ImportLineParser.parse(v1, line: 1)
        #expect(event.payload == .riskAssessed(level: .c2, score: 40, lowestCategory: false))
    }

    @Test("a version-1 RiskAssessed stored in the log folds into state with lowestCategory false")
    func storedV1IsUpcastOnRead() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([registrationLine("C1", "2026-01-01T00:00:00Z")])
            try ledger.store.append([
                NewEvent(
                    eventId: EventID.random(), stream: "client/C1", type: "RiskAssessed", schemaVersion: 1,
                    occurredAt: at("2026-01-02T00:00:00Z"), data: #"{"level":"C1","score":10}"#)
            ])
            let stored = try ledger.store.events(EventQuery(stream: "client/C1", types: ["RiskAssessed"]))
            #expect(stored.count == 1)
            #expect(stored.first?.schemaVersion == 1)
            #expect(stored.first?.data == #"{"level":"C1","score":10}"#, "stored events are never rewritten")
            #expect(try StoredEvents.payload(of: try #require(stored.first)) == .riskAssessed(level: .c1, score: 10, lowestCategory: false))
            let state = try ledger.clientState("C1")
            #expect(state.risk == RiskAssessment(level: .c1, score: 10, lowestCategory: false, assessedAt: at("2026-01-02T00:00:00Z")))
        }
    }

    @Test("a stored event at a version beyond the current one cannot be read: damage, not bad input")
    func storedTooNewIsRefused() throws {
        try withTemporaryLedger { ledger in
            try ledger.store.append([
                NewEvent(
                    eventId: EventID.random(), stream: "client/C1", type: "RiskAssessed", schemaVersion: 3,
                    occurredAt: at("2026-01-02T00:00:00Z"), data: #"{"level":"C1","score":10,"lowestCategory":false}"#)
            ])
            let stored = try #require(try ledger.store.events(.all).first)
            let error = #expect(throws: StorageError.self) { try StoredEvents.payload(of: stored) }
            guard case .corrupt(let detail)? = error else {
                Issue.record("expected a corrupt-data error, got \(String(describing: error))")
                return
            }
            #expect(detail.contains("position 1"))
        }
    }

    // MARK: Import lines

    @Test("parseAll skips blank lines and keeps physical line numbers")
    func parseAllSkipsBlankLines() throws {
        let text = "\n"
            + registrationLine("C1", "2026-01-01T00:00:00Z") + "\r\n"
            + "   \t \n"
            + "\r\n"
            + line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":9}"#) + "\n"
            + "\n"
        let events = try parseLines(text)
        #expect(events.map(\.line) == [2, 5])
        #expect(events.map(\.type) == [.clientRegistered, .surveyAnswered])
        #expect(Set(events.map(\.eventId)).count == 2)
    }

    @Test("a duplicate explicit event id is refused with its line number")
    func duplicateExplicitIds() throws {
        let id = "7d1c2f8e-3b4a-4c5d-9e6f-0a1b2c3d4e5f"
        let text = [
            registrationLine("C1", "2026-01-01T00:00:00Z"),
            line("SurveyAnswered", "C1", "2026-01-02T00:00:00Z", #"{"nps":9}"#, eventId: id),
            "",
            line("SurveyAnswered", "C1", "2026-01-03T00:00:00Z", #"{"nps":7}"#, eventId: id.uppercased()),
        ].joined(separator: "\n")
        #expect(throws: InputError.self) { try parseLines(text) }
        do {
            _ = try parseLines(text)
        } catch {
            #expect(error.line == 4)
            #expect(error.field == "eventId")
            #expect(error.problem.contains("line 2"))
        }
    }

    @Test("parseAll names the first bad line, and refuses an empty input")
    func parseAllErrors() throws {
        let text = [
            registrationLine("C1", "2026-01-01T00:00:00Z"),
            line("TradeExecuted", "C1", "2026-01-02T00:00:00Z", #"{"orderId":"O-1","productId":"P","notional":10.001}"#),
            "{not json",
        ].joined(separator: "\n")
        do {
            _ = try parseLines(text)
            Issue.record("accepted a bad amount")
        } catch {
            #expect(error.line == 2)
            #expect(error.field == "data.notional")
        }
        #expect(throws: InputError.self) { try parseLines("") }
        #expect(throws: InputError.self) { try parseLines("\n  \n\r\n") }
        do {
            _ = try parseLines(registrationLine("C1", "2026-01-01T00:00:00Z") + "\n{\"type\":")
        } catch {
            #expect(error.line == 2)
            #expect(error.field == nil)
        }
    }

    @Test("import lines refuse decisions and unknown types")
    func importRefusesDecisions() {
        for type in EventType.allCases where type.isDecision {
            do {
                _ = try ImportLineParser.parse(line(type.rawValue, "C1", "2026-01-01T00:00:00Z", #"{"points":10}"#), line: 1)
                Issue.record("accepted the decision \(type.rawValue)")
            } catch {
                #expect(error.field == "type")
            }
        }
        #expect(throws: InputError(line: 1, field: "type", problem: "unknown event type \"Bogus\" (see schemas/events/)")) {
            try ImportLineParser.parse(line("Bogus", "C1", "2026-01-01T00:00:00Z", "{}"), line: 1)
        }
    }

    @Test("importing the same lines again writes nothing")
    func reimportIsIdempotent() throws {
        try withTemporaryLedger { ledger in
            let lines = [
                registrationLine("C1", "2026-01-01T00:00:00Z"),
                line("TradeExecuted", "C1", "2026-01-02T00:00:00Z", #"{"orderId":"O-1","productId":"P","notional":1000.00}"#),
                line("SurveyAnswered", "C1", "2026-01-03T00:00:00Z", #"{"nps":9}"#),
                line("SurveyAnswered", "C1", "2026-01-04T00:00:00Z", #"{"nps":9}"#),
            ]
            let first = try ledger.importLines(lines)
            #expect(first.factsWritten == 4)
            #expect(first.decisionsWritten == 2, "one trade award and one survey award (the second survey is in the same quarter)")
            let before = try ledger.fingerprint()
            let second = try ledger.importLines(lines)
            #expect(second.factsWritten == 0)
            #expect(second.decisionsWritten == 0)
            #expect(second.alreadyStored == 4)
            #expect(try ledger.fingerprint() == before)
        }
    }
}
