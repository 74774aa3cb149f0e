import Foundation
import LedgerTestSupport
import Testing
@testable import LedgerDomain
@testable import LedgerApplication
import LedgerCore
import LedgerSQLite
import LedgerStorage

/// Every rules version named by a decision of the log, and the versions its `RulesAdopted` carry.
private func rulesVersions(_ store: any EventStore) throws -> (decided: Set<String>, adopted: Set<String>) {
    var decided = Set<String>()
    var adopted = Set<String>()
    try store.scan(.all) { event in
        if let version = EventMetadata(json: event.metadata).rulesVersion { decided.insert(version) }
        if event.type == RulesAdoption.type {
            adopted.insert(try RulesAdoption.decode(data: event.data).version)
        }
        return true
    }
    return (decided, adopted)
}

/// The default rules with the trade rate doubled (2 points per 100 CNY).
private func doubledTradeRules() throws -> Rules {
    try Rules(yaml: Rules.defaultYAML.replacingOccurrences(of: "    points: 1            # points per `per` CNY of notional", with: "    points: 2"))
}

@Suite("Rules kept in the log: RulesAdopted, the rules in force, the default rules adopted on the first write")
struct RulesInLogTests {
    @Test("the canonical document round-trips to the same rules and version (defaults and a changed file)")
    func canonicalRoundTrip() throws {
        for rules in [defaultRules, try doubledTradeRules()] {
            let adoption = RulesAdoption(rules: rules, reason: "test")
            let back = try RulesAdoption.decode(data: adoption.dataJSON)
            #expect(back.rules == rules)
            #expect(back.version == rules.version)
            #expect(try Rules(yaml: rules.fileJSON).version == rules.version)
        }
        #expect(try doubledTradeRules().version != defaultRules.version)
    }

    @Test("a stored document that does not hash to its version is refused, naming the field")
    func tamperedDocument() throws {
        let data = RulesAdoption(rules: defaultRules, reason: "x").dataJSON.replacingOccurrences(of: "\"perQuarter\":1", with: "\"perQuarter\":2")
        #expect(throws: FieldError.self) { try RulesAdoption.decode(data: data) }
        do {
            _ = try RulesAdoption.decode(data: data)
        } catch {
            #expect(error.field == "data.version")
        }
    }

    @Test("every decision's rulesVersion resolves to a RulesAdopted: new ledger, legacy ledger, after rules adopt")
    func everyDecisionResolves() throws {
        try withTemporaryLedger { legacy in
            // A ledger written before rules were kept in the log: decisions, no adoption.
            try legacy.importLines([
                registrationLine("C1", "2026-01-02T09:00:00Z"),
                line("TradeExecuted", "C1", "2026-01-03T09:00:00Z", #"{"orderId":"O1","productId":"EQ-1","notional":50000.00}"#),
            ])
            var versions = try rulesVersions(legacy.store)
            #expect(versions.decided == [defaultRules.version])
            #expect(versions.adopted.isEmpty)
            #expect(try RulesInLog.unresolvedVersions(in: legacy.store) == [defaultRules.version: 1])

            // Opened the way every command opens it: the first write adopts the defaults.
            let ledger = try Ledger.open(store: legacy.store)
            #expect(ledger.rulesVersion == defaultRules.version)
            try ledger.importLines([line("FundsDeposited", "C1", "2026-01-04T09:00:00Z", #"{"amount":200000.00}"#)])
            versions = try rulesVersions(ledger.store)
            #expect(versions.decided.isSubset(of: versions.adopted))
            #expect(try RulesInLog.unresolvedVersions(in: ledger.store).isEmpty)
            #expect(try RulesInLog.adoptions(in: ledger.store).count == 1)

            // Adopting other rules: later decisions use them and name their adoption.
            let doubled = try doubledTradeRules()
            let outcome = try RulesInLog.adopt(doubled, reason: "double trade points", actor: "test", store: ledger.store, clock: SystemClock())
            #expect(outcome.position != nil)
            #expect(outcome.previousVersion == defaultRules.version)
            let after = try Ledger.open(store: ledger.store)
            #expect(after.rulesVersion == doubled.version)
            let report = try after.importLines([
                line("TradeExecuted", "C1", "2026-01-05T09:00:00Z", #"{"orderId":"O2","productId":"EQ-1","notional":10000.00}"#)
            ])
            #expect(report.decisionsWritten >= 1)
            let award = try after.storedEvents(of: "C1").last { $0.type == "PointsAwarded" }
            // 10,000 CNY at 2 per 100 = 200, times Silver's 1.2 (the deposit made C1 Silver) = 240.
            if case .pointsAwarded(let points, _, _, _)? = award?.payload { #expect(points == 240) } else { Issue.record("no award") }
            #expect(EventMetadata(json: award?.event.metadata ?? "{}").rulesVersion == doubled.version)
            versions = try rulesVersions(after.store)
            #expect(versions.decided == [defaultRules.version, doubled.version])
            #expect(versions.decided.isSubset(of: versions.adopted))

            // The same rules again: nothing written.
            let head = try after.store.head()
            let again = try RulesInLog.adopt(doubled, reason: "again", actor: nil, store: after.store, clock: SystemClock())
            #expect(again.position == nil)
            #expect(try after.store.head() == head)
            #expect(try RulesInLog.inForce(in: after.store).adopted?.position == outcome.position)
        }
    }

    @Test("a refused import writes no RulesAdopted either; a ledger made with init(rules:) records none")
    func refusedInputLeavesNothing() throws {
        try withTemporaryLedger { direct in
            let ledger = try Ledger.open(store: direct.store)
            #expect(throws: InputError.self) {
                try ledger.importLines([line("FundsDeposited", "C404", "2026-01-04T09:00:00Z", #"{"amount":5.00}"#)])
            }
            #expect(try ledger.store.head().position == 0)
            try direct.importLines([registrationLine("C1", "2026-01-02T09:00:00Z")])
            #expect(try RulesInLog.adoptions(in: direct.store).isEmpty)
        }
    }

    @Test("RulesAdopted cannot be imported")
    func notImportable() throws {
        #expect(throws: InputError.self) {
            _ = try parseLines(#"{"type":"RulesAdopted","clientId":"C1","occurredAt":"2026-01-02T09:00:00Z","data":{}}"#)
        }
    }
}

@Suite("Suitability: a mismatched purchase is flagged in the same transaction, an acknowledged one is not")
struct SuitabilityFlagTests {
    private func flags(_ ledger: Ledger, _ client: String = "C1") throws -> [EventPayload] {
        try ledger.storedEvents(of: client).map(\.payload).filter {
            if case .suitabilityBreachFlagged = $0 { return true }
            return false
        }
    }

    @Test("a C2 client buying FUND-03 (R3) is flagged unsuitable, caused by the purchase; after a warning acknowledged, not")
    func mismatchedAndAcknowledged() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2026-01-02T09:00:00Z"),
                line("RiskAssessed", "C1", "2026-01-02T10:00:00Z", #"{"level":"C2","score":40}"#),
                line("ProductPurchased", "C1", "2026-01-03T09:00:00Z", #"{"productId":"FUND-03","amount":1000.00}"#,
                     eventId: "00000000-0000-4000-8000-000000000001"),
                line("ProductPurchased", "C1", "2026-01-03T10:00:00Z", #"{"productId":"BOND-02","amount":1000.00}"#),
                line("SuitabilityWarningAcknowledged", "C1", "2026-01-04T09:00:00Z", #"{"productId":"OPT-05","warningRef":"W-1"}"#),
                line("ProductPurchased", "C1", "2026-01-04T10:00:00Z", #"{"productId":"OPT-05","amount":1000.00}"#),
            ])
            #expect(try flags(ledger) == [.suitabilityBreachFlagged(productId: "FUND-03", productRisk: .r3, clientLevel: .c2, reason: .unsuitable)])
            let flag = try #require(try ledger.storedEvents(of: "C1").first { $0.type == "SuitabilityBreachFlagged" })
            let metadata = EventMetadata(json: flag.event.metadata)
            #expect(metadata.causationId == "00000000-0000-4000-8000-000000000001")
            #expect(metadata.rulesVersion == defaultRules.version)

            let report = try SuitabilityReport(store: ledger.store, from: nil, to: nil)
            #expect(report.flags.map(\.productId) == ["FUND-03"])
            #expect(report.flags.first?.purchaseEventId == "00000000-0000-4000-8000-000000000001")
            #expect(report.acknowledgements.map(\.warningRef) == ["W-1"])
            #expect(try SuitabilityReport(store: ledger.store, from: at("2026-01-03T09:30:00Z"), to: nil).flags.isEmpty)
        }
    }

    @Test("reasons: no valid assessment (none, expired), lowest category even after a warning, not professional")
    func reasons() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2022-01-02T09:00:00Z"),
                line("ProductPurchased", "C1", "2022-01-03T09:00:00Z", #"{"productId":"MMF-01","amount":100.00}"#),
                line("RiskAssessed", "C1", "2022-01-04T09:00:00Z", #"{"level":"C5","score":90}"#),
                line("ProductPurchased", "C1", "2022-01-05T09:00:00Z", #"{"productId":"PE-06","amount":100.00}"#),
                line("ProductPurchased", "C1", "2022-01-06T09:00:00Z", #"{"productId":"OPT-05","amount":100.00}"#),
                // 730 days later the assessment has expired.
                line("ProductPurchased", "C1", "2024-01-10T09:00:00Z", #"{"productId":"BOND-02","amount":100.00}"#),
                registrationLine("C2", "2026-01-02T09:00:00Z"),
                line("RiskAssessed", "C2", "2026-01-02T10:00:00Z", #"{"level":"C1","score":5,"lowestCategory":true}"#),
                line("SuitabilityWarningAcknowledged", "C2", "2026-01-03T09:00:00Z", #"{"productId":"BOND-02","warningRef":"W-2"}"#),
                line("ProductPurchased", "C2", "2026-01-04T09:00:00Z", #"{"productId":"BOND-02","amount":100.00}"#),
                line("ProductPurchased", "C2", "2026-01-04T10:00:00Z", #"{"productId":"MMF-01","amount":100.00}"#),
            ])
            #expect(try flags(ledger, "C1") == [
                .suitabilityBreachFlagged(productId: "MMF-01", productRisk: .r1, clientLevel: nil, reason: .noValidAssessment),
                .suitabilityBreachFlagged(productId: "PE-06", productRisk: .r5, clientLevel: .c5, reason: .notProfessional),
                .suitabilityBreachFlagged(productId: "BOND-02", productRisk: .r2, clientLevel: nil, reason: .noValidAssessment),
            ])
            #expect(try flags(ledger, "C2") == [
                .suitabilityBreachFlagged(productId: "BOND-02", productRisk: .r2, clientLevel: .c1, reason: .lowestCategory)
            ])
        }
    }

    @Test("a late purchase is judged on the assessment valid at its own moment")
    func latePurchase() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2026-01-02T09:00:00Z"),
                line("RiskAssessed", "C1", "2026-01-05T09:00:00Z", #"{"level":"C3","score":60}"#),
            ])
            // Recorded now, dated before the assessment: there was no valid assessment then.
            try ledger.importLines([line("ProductPurchased", "C1", "2026-01-03T09:00:00Z", #"{"productId":"FUND-03","amount":100.00}"#)])
            #expect(try flags(ledger) == [.suitabilityBreachFlagged(productId: "FUND-03", productRisk: .r3, clientLevel: nil, reason: .noValidAssessment)])
        }
    }

    @Test("a product the rules do not list has no known risk level: not flagged; an offboarding-free stream folds the flags")
    func unknownProduct() throws {
        try withTemporaryLedger { ledger in
            try ledger.importLines([
                registrationLine("C1", "2026-01-02T09:00:00Z"),
                line("ProductPurchased", "C1", "2026-01-03T09:00:00Z", #"{"productId":"EQ-600519","amount":100.00}"#),
                line("ProductPurchased", "C1", "2026-01-03T10:00:00Z", #"{"productId":"FUND-03","amount":100.00}"#),
            ])
            #expect(try flags(ledger).count == 1)
            #expect(try ledger.streams.fold("C1").suitabilityFlags == 1)
        }
    }
}

/// Whether `needle` occurs anywhere in the bytes of a file (false when there is no file).
private func fileContains(_ path: String, _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, let data = FileManager.default.contents(atPath: path) else { return false }
    let bytes = [UInt8](data)
    guard bytes.count >= needle.count else { return false }
    let first = needle[0]
    var index = 0
    while index <= bytes.count - needle.count {
        if bytes[index] == first, Array(bytes[index..<(index + needle.count)]) == needle { return true }
        index += 1
    }
    return false
}

@Suite("Erasure: personal fields sealed with a per-client key; forget destroys the key and the chain still verifies")
struct ErasureTests {
    static let name = "Ouyang Xiaoming-Unique"
    static let lines = [
        line("ClientRegistered", "C1", "2026-01-02T09:00:00Z",
             #"{"name":"\#(name)","segment":"retail","investorType":"ordinary","branch":"Shanghai"}"#,
             eventId: "00000000-0000-4000-8000-00000000e001"),
        line("FundsDeposited", "C1", "2026-01-03T09:00:00Z", #"{"amount":150000.00}"#),
        line("ClientProfileUpdated", "C1", "2026-01-04T09:00:00Z", #"{"name":"\#(name) Jr"}"#,
             eventId: "00000000-0000-4000-8000-00000000e002"),
    ]

    private func files(_ ledger: Ledger) -> [String] {
        [ledger.store.location, ledger.store.location + "-wal"]
    }

    @Test("after forget no byte of the name or the key is in the database file or its WAL; the facts stay; the chain verifies")
    func forgetLeavesNoBytes() throws {
        try withTemporaryLedger { direct in
            let ledger = try Ledger.open(store: direct.store)
            try ledger.importLines(Self.lines)
            // Stored sealed: the hash covers the ciphertext, the name is nowhere in the files.
            let stored = try ledger.storedEvents(of: "C1")
            #expect(stored[0].event.data.contains(#""name":{"sealed":""#), "\(stored[0].event.data)")
            for path in files(ledger) { #expect(!fileContains(path, Array(Self.name.utf8)), "\(path) holds the name") }
            let key = try #require(try ledger.store.personalDataKey(stream: "client/C1"))
            #expect(key.count == 32)
            #expect(files(ledger).contains { fileContains($0, key) }, "the byte search must find the key before forget")
            #expect(try ledger.clientState("C1").name == Self.name + " Jr")
            // An idempotent retry of a sealed fact is recognised as the same fact.
            #expect(try ledger.importLines([Self.lines[0]]).alreadyStored == 1)
            #expect(throws: InputError.self) {
                try ledger.importLines([Self.lines[0].replacingOccurrences(of: Self.name, with: "Someone Else")])
            }

            let outcome = try ledger.forget("C1", reason: "erasure request", requestedBy: "dpo", overrideRetention: "client request, not offboarded")
            #expect(outcome.keyDestroyed && outcome.purged && !outcome.alreadyErased)
            #expect(try ledger.store.personalDataKey(stream: "client/C1") == nil)
            for path in files(ledger) {
                #expect(!fileContains(path, key), "\(path) still holds the key")
                #expect(!fileContains(path, Array(Self.name.utf8)), "\(path) holds the name")
            }
            #expect(try ledger.store.verifyChain().isIntact)
            let state = try ledger.clientState("C1")
            #expect(PersonalField.isErased(state.name))
            #expect(state.netAssets == Money(cents: 15_000_000))
            #expect(state.segment == .retail)
            let erased = try #require(try ledger.storedEvents(of: "C1").last)
            #expect(erased.payload == .clientDataErased(reason: "erasure request", requestedBy: "dpo", retentionOverride: "client request, not offboarded"))
            // Retries still work: the same fact is already stored, whatever its erased name.
            #expect(try ledger.importLines([Self.lines[0]]).alreadyStored == 1)
            // No new personal data for an erased client; other facts are taken.
            #expect(throws: InputError.self) {
                try ledger.importLines([line("ClientProfileUpdated", "C1", "2026-01-05T09:00:00Z", #"{"name":"New"}"#)])
            }
            try ledger.importLines([line("FundsDeposited", "C1", "2026-01-05T09:00:00Z", #"{"amount":10.00}"#)])
            // Forgetting again writes nothing.
            let head = try ledger.store.head()
            #expect(try ledger.forget("C1", reason: "again", requestedBy: "dpo", overrideRetention: nil).alreadyErased)
            #expect(try ledger.store.head() == head)
        }
    }

    @Test("refused before the retention period (not offboarded; offboarded less than 20 years ago) without an override; nothing written")
    func retention() throws {
        try withTemporaryLedger { direct in
            let ledger = try Ledger.open(store: direct.store)
            try ledger.importLines([
                Self.lines[0],
                registrationLine("C2", "2026-01-02T09:00:00Z"),
                line("ClientOffboarded", "C2", "2026-01-03T09:00:00Z", #"{"reason":"closed"}"#),
                registrationLine("C3", "2000-01-02T09:00:00Z"),
                line("ClientOffboarded", "C3", "2005-01-03T09:00:00Z", #"{"reason":"closed"}"#),
            ])
            let head = try ledger.store.head()
            for client in ["C1", "C2"] {
                do {
                    _ = try ledger.forget(client, reason: "request", requestedBy: "dpo", overrideRetention: nil)
                    Issue.record("\(client): forget before the retention period was not refused")
                } catch let error as InputError {
                    #expect(error.field == "overrideRetention", "\(error)")
                }
            }
            #expect(try ledger.store.head() == head)
            #expect(try ledger.store.personalDataKey(stream: "client/C2") != nil)
            // Offboarded in 2005: the 20 years have passed; no override needed, none recorded.
            let outcome = try ledger.forget("C3", reason: "request", requestedBy: "dpo", overrideRetention: "not needed")
            #expect(outcome.retentionOverride == nil)
            #expect(outcome.retentionEnds == "2025-01-03T09:00:00.000Z")
            #expect(try ledger.storedEvents(of: "C3").last?.payload == .clientDataErased(reason: "request", requestedBy: "dpo", retentionOverride: nil))
            // The retention period comes from the rules in force.
            let five = try Rules(yaml: Rules.defaultYAML + "\nretention:\n  personalDataYears: 5\n")
            #expect(five.personalDataRetentionYears == 5)
            #expect(five.version != defaultRules.version)
            #expect(try RulesAdoption.decode(data: RulesAdoption(rules: five, reason: "x").dataJSON).rules == five)
            #expect(defaultRules.version == "d5890061e96ad5a0", "the default rules' version does not change with the new key")
        }
    }

    @Test("a name stored in clear text (a ledger written before encryption) cannot be erased: refused, nothing written")
    func legacyPlainText() throws {
        try withTemporaryLedger { direct in
            // As the ledger wrote it before personal data was encrypted: the name in clear.
            let legacy = NewEvent(
                eventId: "00000000-0000-4000-8000-00000000e003", stream: "client/C9", type: "ClientRegistered",
                occurredAt: at("2026-01-02T09:00:00Z"),
                data: #"{"name":"Plain Name","segment":"retail","investorType":"ordinary","branch":"B"}"#)
            try direct.store.append([legacy])
            let ledger = try Ledger.open(store: direct.store)
            #expect(try ledger.clientState("C9").name == "Plain Name")
            let head = try ledger.store.head()
            #expect(throws: InputError.self) {
                _ = try ledger.forget("C9", reason: "request", requestedBy: "dpo", overrideRetention: "test")
            }
            #expect(try ledger.store.head() == head)
            // A retry of the legacy fact is still the same fact.
            let retry = line("ClientRegistered", "C9", "2026-01-02T09:00:00Z", #"{"name":"Plain Name","segment":"retail","investorType":"ordinary","branch":"B"}"#,
                             eventId: "00000000-0000-4000-8000-00000000e003")
            #expect(try ledger.importLines([retry]).alreadyStored == 1)
        }
    }

    @Test("the sealed form is the ledger's own: an import line giving it is refused naming data.name")
    func sealedFormNotImportable() throws {
        do {
            _ = try parseLines(line("ClientRegistered", "C1", "2026-01-02T09:00:00Z", #"{"name":{"sealed":"00ff"},"segment":"retail","investorType":"ordinary","branch":"B"}"#))
            Issue.record("accepted")
        } catch {
            #expect(error.field == "data.name", "\(error)")
        }
        #expect(throws: InputError.self) {
            _ = try parseLines(line("ClientDataErased", "C1", "2026-01-02T09:00:00Z", #"{"reason":"x","requestedBy":"y"}"#))
        }
    }
}
