import Foundation
import Testing

@testable import LedgerCore

@Suite("Output form: amounts as text, moments as ISO-8601, null for absent, nothing that changes the display")
struct OutputFormTests {
    @Test("the stored form keeps amounts as numbers; the output form writes them as exact decimal strings")
    func moneyForms() {
        var stored = JSONWriter()
        stored.beginObject(); stored.key("amount"); stored.money(Money(cents: 12_345_678_901_234_567)); stored.endObject()
        #expect(stored.text == #"{"amount":123456789012345.67}"#)
        var shown = JSONWriter(forDisplay: true)
        shown.beginObject(); shown.key("amount"); shown.money(Money(cents: -20_000)); shown.endObject()
        #expect(shown.text == #"{"amount":"-200.00"}"#)
    }

    @Test("the output form escapes C1 controls, bidi overrides and line separators; the stored form keeps them")
    func displayEscapes() {
        let text = "A\u{9B}B\u{202E}C\u{2028}D\u{2066}E\u{1B}F"
        var stored = JSONWriter()
        stored.string(text)
        #expect(stored.text == "\"A\u{9B}B\u{202E}C\u{2028}D\u{2066}E\\u001bF\"")
        var shown = JSONWriter(forDisplay: true)
        shown.string(text)
        #expect(shown.text == #""A\u009bB\u202eC\u2028D\u2066E\u001bF""#)
        // The escaped form still means the same text to a JSON reader.
        let parsed = try? JSONSerialization.jsonObject(with: Data(shown.text.utf8), options: [.fragmentsAllowed]) as? String
        #expect(parsed == text)
    }

    @Test("text for people: every display-changing character as \\u{…}, line breaks kept only for whole lines")
    func escapedForDisplay() {
        #expect("plain 名字".escapedForDisplay() == "plain 名字")
        #expect("a\u{202E}b\u{9B}c".escapedForDisplay() == "a\\u{202e}b\\u{9b}c")
        #expect("one\ntwo".escapedForDisplay() == "one\\u{a}two")
        #expect("one\ntwo\u{2029}".escapedForDisplay(keepingLayout: true) == "one\ntwo\\u{2029}")
    }

    struct Record: Encodable {
        var amount: Money
        var at: Timestamp
        @NullEncoded var missing: String?
        @NullEncoded var present: Int64?
    }

    @Test("records encode money as text, moments as ISO-8601 and absent values as null")
    func recordEncoding() throws {
        let record = Record(amount: Money(cents: 150), at: Timestamp(millisecondsSinceEpoch: 0), missing: nil, present: 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(text == #"{"amount":"1.50","at":"1970-01-01T00:00:00.000Z","missing":null,"present":3}"#)
    }
}
