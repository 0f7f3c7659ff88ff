@testable import AbmWire
import Testing

private func parse(_ s: String, limits: JSONLimits = .default) throws(JSONParseError) -> JSONValue {
    try JSONParser.parse(Array(s.utf8), limits: limits)
}

private func parseError(_ bytes: [UInt8], limits: JSONLimits = .default) -> JSONParseError? {
    do { _ = try JSONParser.parse(bytes, limits: limits); return nil } catch { return error }
}

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let v = try parse(#" { "a" : [1, -2, 3.5, -0.25e2, 1E3, true, false, null, "x"], "b": {}, "c": [] } "#)
        #expect(v == .object([
            "a": [.int(1), .int(-2), .double(3.5), .double(-25), .double(1000), true, false, .null, "x"],
            "b": .object([:]), "c": .array([]),
        ]))
    }

    @Test func integersKeepAll64Bits() throws {
        #expect(try parse(#"{"a":9223372036854775807,"b":-9223372036854775808}"#) ==
            .object(["a": .int(.max), "b": .int(.min)]))
        #expect(parseError(Array(#"{"a":9223372036854775808}"#.utf8))?.message == "integer out of the 64-bit range")
        #expect(parseError(Array(#"{"a":-9223372036854775809}"#.utf8))?.message == "integer out of the 64-bit range")
        #expect(parseError(Array(#"{"a":1e400}"#.utf8))?.message == "number out of range")
    }

    @Test func decodesEscapesAndUnicode() throws {
        let v = try parse(#"{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 é😀"}"#)
        #expect(v["s"] == .string("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}😀 é😀"))
    }

    @Test(arguments: [
        ("", "empty body"),
        ("{", "unexpected end of input"),
        (#"{"a":1,}"#, "expected a string key"),
        (#"{"a" 1}"#, "expected ':' after an object key"),
        ("[1 2]", "expected ',' or ']' in an array"),
        (#"{"a":01}"#, "expected ',' or '}' in an object"),
        (#"{"a":1.}"#, "digit expected after '.'"),
        (#"{"a":1e}"#, "digit expected in exponent"),
        (#"{"a":-}"#, "invalid number"),
        (#"{"a":tru}"#, "invalid literal"),
        (#"{"a":"\x"}"#, "invalid escape \\'x' in string"),
        (#"{"a":"\u12g4"}"#, #"invalid hex digit in \u escape"#),
        (#"{"a":"\udc00"}"#, "lone surrogate escape in string"),
        (#"{"a":"\ud800x"}"#, "lone surrogate escape in string"),
        (#"{"a":"abc"#, "unterminated string"),
        (#"{"a":1} x"#, "unexpected characters after the JSON value"),
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        ("'a'", "unexpected character '''"),
    ])
    func rejectsMalformedJSON(input: String, message: String) {
        #expect(parseError(Array(input.utf8))?.message == message)
    }

    @Test func rejectsRawControlCharactersAndInvalidUTF8() {
        #expect(parseError(Array("{\"a\":\"x\ny\"}".utf8))?.message == "unescaped control character in string")
        for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]] {
            let input = Array(#"{"a":""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(parseError(input)?.message == "invalid UTF-8 in string", "bytes \(bad)")
        }
        // The same bad bytes after an escape (slow path) are caught too.
        #expect(parseError(Array(#"{"a":"\n"#.utf8) + [0xFF] + Array(#""}"#.utf8))?.message == "invalid UTF-8 in string")
    }

    @Test func depthIsBoundedWithoutRecursingPastTheLimit() {
        // 100,000 `[` would overflow an unbounded recursive parser's stack; this one stops at depth 33.
        let deep = [UInt8](repeating: 0x5B, count: 100_000)
        #expect(parseError(deep)?.message == "nested deeper than 32 levels")
        #expect(parseError(deep)?.offset == 32)
        let ok = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect((try? parse(ok)) != nil)
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect((try? parse(tooDeep)) == nil)
        #expect((try? parse(tooDeep, limits: JSONLimits(maxDepth: 40))) != nil)
    }

    @Test func stringLengthIsBounded() {
        let limits = JSONLimits(maxStringBytes: 4)
        #expect((try? parse(#"{"abcd":"wxyz"}"#, limits: limits)) != nil)
        #expect(parseError(Array(#"{"a":"vwxyz"}"#.utf8), limits: limits)?.message == "string longer than 4 bytes")
        #expect(parseError(Array(#"{"a":"vw\nyz"}"#.utf8), limits: limits)?.message == "string longer than 4 bytes")
    }
}

@Suite struct JSONWriterTests {
    @Test func writesSortedKeysCompactly() {
        let v: JSONValue = ["b": 1, "a": [true, nil, 2.5], "é": "x", "Z": ["y": -7, "x": .int(.min)]]
        #expect(String(decoding: JSONWriter.encode(v), as: UTF8.self) ==
            #"{"Z":{"x":-9223372036854775808,"y":-7},"a":[true,null,2.5],"b":1,"é":"x"}"#)
    }

    @Test func escapesWhatJSONRequires() throws {
        let s = "q\"b\\n\nr\rt\tb\u{8}f\u{c}c\u{1}\u{1f} é😀/"
        let bytes = JSONWriter.encode(.string(s))
        #expect(String(decoding: bytes, as: UTF8.self) == #""q\"b\\n\nr\rt\tb\bf\fc\u0001\u001f é😀/""#)
        #expect(try JSONParser.parse(Array(#"{"s":"#.utf8) + bytes + [0x7D]) == .object(["s": .string(s)]))
    }

    @Test func numbersRoundTrip() throws {
        for d in [0.1, -0.0, 1e20, 1e-7, 123456.789, Double.greatestFiniteMagnitude] {
            let text = JSONWriter.encode(["d": .double(d)])
            #expect(try JSONParser.parse(text)["d"] == .double(d), "\(d)")
        }
        for i: Int64 in [0, 7, -7, 10, 1_000_000, .max, .min] {
            #expect(try JSONParser.parse(JSONWriter.encode(["i": .int(i)]))["i"] == .int(i))
        }
        #expect(JSONWriter.encode(.double(.nan)) == Array("null".utf8))
    }
}
