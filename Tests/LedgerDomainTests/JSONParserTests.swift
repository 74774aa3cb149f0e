import LedgerTestSupport
import Testing
@testable import LedgerCore
@testable import LedgerDomain

/// A JSON text given as bytes, so that invalid UTF-8 can be written too.
struct JSONCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]

    init(_ name: String, _ text: String) {
        self.name = name
        self.bytes = Array(text.utf8)
    }

    init(_ name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    var testDescription: String { name }
}

private func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
    var result: Result<JSONValue, JSONSyntaxError> = .success(.null)
    bytes.withUnsafeBufferPointer { buffer in
        do throws(JSONSyntaxError) { result = .success(try JSONParser.parse(buffer)) } catch { result = .failure(error) }
    }
    return try result.get()
}

private func nested(_ depth: Int, open: String = "[", close: String = "]", inner: String = "") -> String {
    String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
}

@Suite("JSON parser (RFC 8259, strict)")
struct JSONParserTests {
    static let valid: [JSONCase] = [
        JSONCase("empty object", "{}"),
        JSONCase("empty array", "[]"),
        JSONCase("white space around", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n "),
        JSONCase("zero", "0"),
        JSONCase("negative zero", "-0"),
        JSONCase("fraction and exponent", "-12.5e-3"),
        JSONCase("upper-case exponent with plus", "1E+2"),
        JSONCase("literals", "[true,false,null]"),
        JSONCase("escapes", #""\" \\ \/ \b \f \n \r \t""#),
        JSONCase("escaped NUL", #""\u0000""#),
        JSONCase("BMP escape", #""\u00e9\u4E2D""#),
        JSONCase("surrogate pair", #""\ud83d\ude00""#),
        JSONCase("raw UTF-8", "\"王 €😀\""),
        JSONCase("DEL is not a control character in JSON", "\"\u{7F}\""),
        JSONCase("same key in different objects", #"{"a":{"a":1},"b":{"a":2}}"#),
        JSONCase("64 nested arrays", nested(64)),
        JSONCase("64 nested objects", nested(63, open: "{\"k\":", close: "}", inner: "{}")),
        JSONCase("mixed nesting, 64 deep", nested(32, open: "[{\"k\":", close: "}]", inner: "0")),
    ]

    static let invalid: [JSONCase] = [
        JSONCase("empty input", ""),
        JSONCase("only white space", "   "),
        JSONCase("duplicate key", #"{"a":1,"a":2}"#),
        JSONCase("duplicate key spelled with an escape", #"{"a":1,"\u0061":2}"#),
        JSONCase("duplicate key in a nested object", #"{"x":{"b":true,"b":false}}"#),
        JSONCase("trailing comma in an array", "[1,2,]"),
        JSONCase("trailing comma in an object", #"{"a":1,}"#),
        JSONCase("leading comma", "[,1]"),
        JSONCase("missing comma", "[1 2]"),
        JSONCase("leading zero", "01"),
        JSONCase("leading zero, negative", "-01"),
        JSONCase("double zero", "00"),
        JSONCase("leading zero in an object", #"{"amount":0100.00}"#),
        JSONCase("plus sign", "+1"),
        JSONCase("bare fraction", ".5"),
        JSONCase("no digit after the point", "1."),
        JSONCase("no digit in the exponent", "1e"),
        JSONCase("sign only in the exponent", "1e+"),
        JSONCase("minus alone", "-"),
        JSONCase("hexadecimal number", "0x10"),
        JSONCase("number longer than 64 characters", String(repeating: "1", count: 65)),
        JSONCase("raw tab in a string", "\"a\tb\""),
        JSONCase("raw newline in a string", "\"a\nb\""),
        JSONCase("raw NUL in a string", "\"a\u{0}b\""),
        JSONCase("raw control character after an escape", "\"\\n\u{1F}\""),
        JSONCase("unknown escape", #""\x41""#),
        JSONCase("escaped single quote", #""\'""#),
        JSONCase("short unicode escape", #""\u12""#),
        JSONCase("non-hex unicode escape", #""\u12G4""#),
        JSONCase("escape at the end of input", "\"\\"),
        JSONCase("lone high surrogate", #""\ud800""#),
        JSONCase("high surrogate followed by text", #""\ud800abc""#),
        JSONCase("high surrogate followed by a non-surrogate escape", #""\ud800\u0041""#),
        JSONCase("two high surrogates", #""\ud800\ud800""#),
        JSONCase("lone low surrogate", #""\udc00""#),
        JSONCase("reversed surrogate pair", #""\ude00\ud83d""#),
        JSONCase("65 nested arrays", nested(65)),
        JSONCase("65 nested objects", nested(64, open: "{\"k\":", close: "}", inner: "{}")),
        JSONCase("mixed nesting, 65 deep", nested(32, open: "[{\"k\":", close: "}]", inner: "[]")),
        JSONCase("NaN", "NaN"),
        JSONCase("Infinity", "Infinity"),
        JSONCase("-Infinity", "-Infinity"),
        JSONCase("NaN as a member", #"{"amount":NaN}"#),
        JSONCase("single quotes", "{'a':1}"),
        JSONCase("unquoted key", "{a:1}"),
        JSONCase("comment", "[1]// note"),
        JSONCase("block comment", "/* c */[1]"),
        JSONCase("capitalised literal", "True"),
        JSONCase("truncated literal", "nul"),
        JSONCase("literal with trailing letters", "truex"),
        JSONCase("two values", "true false"),
        JSONCase("unterminated string", "\"abc"),
        JSONCase("unterminated array", "[1,2"),
        JSONCase("unterminated object", #"{"a":1"#),
        JSONCase("object without value", #"{"a":}"#),
        JSONCase("object without colon", #"{"a" 1}"#),
        JSONCase("byte order mark", bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8)),
        JSONCase("invalid UTF-8 byte in a string", bytes: [0x22, 0x61, 0xFF, 0x22]),
        JSONCase("invalid UTF-8 after an escape", bytes: [0x22, 0x5C, 0x6E, 0xFE, 0x22]),
        JSONCase("overlong encoding of '/'", bytes: [0x22, 0xC0, 0xAF, 0x22]),
        JSONCase("truncated 3-byte sequence", bytes: [0x22, 0xE4, 0xB8, 0x22]),
        JSONCase("stray continuation byte", bytes: [0x22, 0x80, 0x22]),
        JSONCase("UTF-8 encoded surrogate", bytes: [0x22, 0xED, 0xA0, 0x80, 0x22]),
        JSONCase("code point above U+10FFFF", bytes: [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
        JSONCase("invalid UTF-8 in a key", bytes: Array("{\"".utf8) + [0xFF] + Array("\":1}".utf8)),
        JSONCase("invalid byte outside a string", bytes: [0x5B, 0xFF, 0x5D]),
    ]

    @Test("accepts valid JSON", arguments: valid)
    func acceptsValid(_ json: JSONCase) throws {
        _ = try parse(json.bytes)
    }

    @Test("refuses invalid JSON", arguments: invalid)
    func refusesInvalid(_ json: JSONCase) {
        #expect(throws: JSONSyntaxError.self) { try parse(json.bytes) }
    }

    @Test("values are decoded as written")
    func decodedValues() throws {
        let value = try JSONParser.parse(#"{"s":"a\"b\u00e9\ud83d\ude00","n":[0,-0,1.50,2E+3],"t":true,"f":false,"z":null,"o":{},"e":"\u0000"}"#)
        let expected = JSONValue.object(JSONObject([
            (key: "s", value: .string("a\"bé😀")),
            (key: "n", value: .array([.number("0"), .number("-0"), .number("1.50"), .number("2E+3")])),
            (key: "t", value: .bool(true)),
            (key: "f", value: .bool(false)),
            (key: "z", value: .null),
            (key: "o", value: .object(JSONObject())),
            (key: "e", value: .string("\u{0}")),
        ]))
        #expect(value == expected)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object.keys == ["s", "n", "t", "f", "z", "o", "e"])
    }

    @Test("numbers keep their exact text")
    func numbersKeepTheirText() throws {
        let texts = ["125000.00", "0.10", "1E+2", "1e-7", "-0", "-0.0", "12345678901234567890123456789", "3.141592653589793238462643383279"]
        for text in texts {
            #expect(try JSONParser.parse(text) == .number(text))
            #expect(try JSONParser.parse("[\(text)]").compactText == "[\(text)]")
        }
    }

    @Test("errors give the byte offset of the problem")
    func errorOffsets() {
        #expect(throws: JSONSyntaxError(offset: 7, reason: "duplicate key \"a\"")) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
        do {
            _ = try JSONParser.parse("[1,2,]")
            Issue.record("accepted a trailing comma")
        } catch {
            #expect(error.offset == 5)
            #expect(error.description.contains("byte 6"))
        }
        do {
            _ = try JSONParser.parse(nested(65))
            Issue.record("accepted 65 levels")
        } catch {
            #expect(error.offset == 64)
            #expect(error.reason.contains("64"))
        }
    }

    @Test("round trip through JSONWriter keeps every value and writes compact text")
    func roundTrip() throws {
        let texts: [(input: String, compact: String)] = [
            (" { \"b\" : 1 , \"a\" : [ true , null , \"x\" ] } ", #"{"b":1,"a":[true,null,"x"]}"#),
            (#"{"amount":125000.00,"n":-0.5e-3}"#, #"{"amount":125000.00,"n":-0.5e-3}"#),
            (#"["\u00e9","\ud83d\ude00","王"]"#, "[\"é\",\"😀\",\"王\"]"),
            (#"["a\/b","q\"q","back\\slash","nl\nx","tab\tx","cr\rx"]"#, #"["a/b","q\"q","back\\slash","nl\nx","tab\tx","cr\rx"]"#),
            (#"["\u0001\u001f\b\f"]"#, #"["\u0001\u001f\u0008\u000c"]"#),
            (nested(64), nested(64)),
            ("[]", "[]"),
            ("{}", "{}"),
            (#"{"o":{"p":{"q":[[],{}]}}}"#, #"{"o":{"p":{"q":[[],{}]}}}"#),
        ]
        for (input, compact) in texts {
            let value = try JSONParser.parse(input)
            let written = value.compactText
            #expect(written == compact)
            #expect(try JSONParser.parse(written) == value)
        }
    }

    @Test("JSONWriter escapes every control character so the parser reads it back")
    func writerEscapesControlCharacters() throws {
        var text = ""
        for scalar in 0..<0x20 { text.unicodeScalars.append(Unicode.Scalar(UInt8(scalar))) }
        text += "\"\\\u{7F}é王😀"
        let value = JSONValue.object(JSONObject([(key: "k\"\n", value: .string(text))]))
        let written = value.compactText
        #expect(!written.utf8.contains { $0 < 0x20 })
        #expect(try JSONParser.parse(written) == value)
    }

    @Test("JSONWriter builds objects member by member with commas in the right places")
    func writerMembers() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.int(-42)
        w.key("b"); w.money(Money(cents: 1_234_505))
        w.key("c"); w.beginArray(); w.int(Int64.min); w.bool(true); w.null(); w.beginObject(); w.endObject(); w.endArray()
        w.key("d"); w.string("x")
        w.endObject()
        #expect(w.text == #"{"a":-42,"b":12345.05,"c":[-9223372036854775808,true,null,{}],"d":"x"}"#)
    }
}
