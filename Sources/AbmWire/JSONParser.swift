
/// Bounds the JSON parser enforces. Every bound is checked before the work it bounds is done.
public struct JSONLimits: Sendable, Equatable {
    /// Deepest nesting of arrays and objects; the top-level object is depth 1.
    /// Clamped to 1...512 so that the (depth-bounded) recursion can never exhaust a thread's stack.
    public var maxDepth: Int
    /// Longest string (key or value), counted in UTF-8 bytes as they appear in the input.
    public var maxStringBytes: Int

    public init(maxDepth: Int = 32, maxStringBytes: Int = 65_536) {
        self.maxDepth = min(max(maxDepth, 1), 512)
        self.maxStringBytes = max(maxStringBytes, 0)
    }

    /// The limits of protocol v1: depth 32, strings up to 64 KiB.
    public static let `default` = JSONLimits()
}

/// Why a byte sequence is not acceptable JSON, and at which byte offset that was noticed.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 parser from UTF-8 bytes to `JSONValue`, written for untrusted input.
///
/// - Rejects invalid UTF-8 (overlong forms, surrogates, code points above U+10FFFF), lone surrogate
///   escapes, raw control characters in strings, duplicate object keys, integers outside Int64,
///   numbers that overflow a Double, and anything after the value but whitespace.
/// - Recursion depth is bounded by `JSONLimits.maxDepth` (checked on entering each array or object),
///   so 100,000 `[` fail fast at depth 33 instead of overflowing the stack.
/// - Works directly over the bytes (no Foundation), so it is cheap enough for the ingress hot path.
public enum JSONParser {
    public static func parse(_ bytes: [UInt8], limits: JSONLimits = .default) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buf in
            parseResult(UnsafeRawBufferPointer(buf), limits: limits)
        }
        return try result.get()
    }

    public static func parse(_ buffer: UnsafeRawBufferPointer, limits: JSONLimits = .default) throws(JSONParseError) -> JSONValue {
        try parseResult(buffer, limits: limits).get()
    }

    static func parseResult(_ buffer: UnsafeRawBufferPointer, limits: JSONLimits) -> Result<JSONValue, JSONParseError> {
        guard let base = buffer.baseAddress, buffer.count > 0 else {
            return .failure(JSONParseError(message: "empty body", offset: 0))
        }
        var reader = JSONReader(p: base.assumingMemoryBound(to: UInt8.self), n: buffer.count, limits: limits)
        do throws(JSONParseError) {
            let value = try reader.parseValue(depth: 0)
            reader.skipWhitespace()
            if reader.i != reader.n {
                throw JSONParseError(message: "unexpected characters after the JSON value", offset: reader.i)
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }
}

// ASCII bytes used by the reader.
private let quote: UInt8 = 0x22, backslash: UInt8 = 0x5C, slash: UInt8 = 0x2F
private let openBrace: UInt8 = 0x7B, closeBrace: UInt8 = 0x7D, openBracket: UInt8 = 0x5B, closeBracket: UInt8 = 0x5D
private let comma: UInt8 = 0x2C, colon: UInt8 = 0x3A, minus: UInt8 = 0x2D, plus: UInt8 = 0x2B, dot: UInt8 = 0x2E
private let zero: UInt8 = 0x30, nine: UInt8 = 0x39

private struct JSONReader {
    let p: UnsafePointer<UInt8>
    let n: Int
    let limits: JSONLimits
    var i = 0
    /// Members of the objects being parsed, innermost last (key, value, key offset).
    var members: [(String, JSONValue, Int)] = []

    init(p: UnsafePointer<UInt8>, n: Int, limits: JSONLimits) {
        self.p = p
        self.n = n
        self.limits = limits
    }

    func fail(_ message: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(message: message, offset: offset ?? i)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard i < n else { throw fail("unexpected end of input") }
        switch p[i] {
        case openBrace: return try parseObject(depth: depth + 1)
        case openBracket: return try parseArray(depth: depth + 1)
        case quote: return .string(try parseString())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case minus, zero...nine: return try parseNumber()
        default: throw fail("unexpected character \(describe(p[i]))")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let len = word.utf8CodeUnitCount
        guard n - i >= len else { throw fail("invalid literal") }
        let w = word.utf8Start
        for k in 0..<len where p[i + k] != w[k] { throw fail("invalid literal") }
        i += len
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > limits.maxDepth { throw fail("nested deeper than \(limits.maxDepth) levels") }
        i += 1
        skipWhitespace()
        if i < n, p[i] == closeBrace { i += 1; return .object([:]) }
        // Members go to a shared scratch stack first, so that the dictionary is built once at its final
        // size (growing it member by member rehashes every key at each resize).
        let base = members.count
        while true {
            skipWhitespace()
            guard i < n, p[i] == quote else { throw fail(i < n ? "expected a string key" : "unexpected end of input") }
            let keyOffset = i
            let key = try parseString()
            skipWhitespace()
            guard i < n, p[i] == colon else { throw fail("expected ':' after an object key") }
            i += 1
            let value = try parseValue(depth: depth)
            members.append((key, value, keyOffset))
            skipWhitespace()
            guard i < n else { throw fail("unexpected end of input") }
            if p[i] == comma { i += 1; continue }
            if p[i] == closeBrace { i += 1; break }
            throw fail("expected ',' or '}' in an object")
        }
        var object = [String: JSONValue](minimumCapacity: members.count - base)
        for k in base..<members.count {
            let (key, value, keyOffset) = members[k]
            if object.updateValue(value, forKey: key) != nil {
                throw fail("duplicate key \"\(key.prefix(64))\"", at: keyOffset)
            }
        }
        members.removeSubrange(base...)
        return .object(object)
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > limits.maxDepth { throw fail("nested deeper than \(limits.maxDepth) levels") }
        i += 1
        var array: [JSONValue] = []
        skipWhitespace()
        if i < n, p[i] == closeBracket { i += 1; return .array(array) }
        while true {
            array.append(try parseValue(depth: depth))
            skipWhitespace()
            guard i < n else { throw fail("unexpected end of input") }
            if p[i] == comma { i += 1; continue }
            if p[i] == closeBracket { i += 1; return .array(array) }
            throw fail("expected ',' or ']' in an array")
        }
    }

    // MARK: strings

    mutating func parseString() throws(JSONParseError) -> String {
        let open = i
        i += 1
        let start = i
        var ascii = true
        while i < n {
            let c = p[i]
            if c == quote {
                let length = i - start
                if length > limits.maxStringBytes { throw fail("string longer than \(limits.maxStringBytes) bytes", at: open) }
                if !ascii, !validUTF8(p + start, length) { throw fail("invalid UTF-8 in string", at: open) }
                i += 1
                return String(decoding: UnsafeBufferPointer(start: p + start, count: length), as: UTF8.self)
            }
            if c == backslash { return try parseEscapedString(open: open, start: start) }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        throw fail("unterminated string", at: open)
    }

    /// The slow path, taken at the first backslash: copies into a buffer, resolving escapes.
    mutating func parseEscapedString(open: Int, start: Int) throws(JSONParseError) -> String {
        var bytes = [UInt8](UnsafeBufferPointer(start: p + start, count: i - start))
        while i < n {
            let c = p[i]
            if c == quote {
                i += 1
                if i - start - 1 > limits.maxStringBytes { throw fail("string longer than \(limits.maxStringBytes) bytes", at: open) }
                let valid = bytes.withUnsafeBufferPointer { validUTF8($0.baseAddress!, $0.count) }
                if !valid { throw fail("invalid UTF-8 in string", at: open) }
                return String(decoding: bytes, as: UTF8.self)
            }
            if c < 0x20 { throw fail("unescaped control character in string") }
            if c != backslash { bytes.append(c); i += 1; continue }
            i += 1
            guard i < n else { break }
            let e = p[i]
            i += 1
            switch e {
            case quote, backslash, slash: bytes.append(e)
            case 0x62: bytes.append(0x08)
            case 0x66: bytes.append(0x0C)
            case 0x6E: bytes.append(0x0A)
            case 0x72: bytes.append(0x0D)
            case 0x74: bytes.append(0x09)
            case 0x75:
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard n - i >= 6, p[i] == backslash, p[i + 1] == 0x75 else { throw fail("lone surrogate escape in string") }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low <= 0xDFFF else { throw fail("lone surrogate escape in string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                    throw fail("lone surrogate escape in string")
                }
                appendUTF8(scalar, to: &bytes)
            default:
                throw fail("invalid escape \\\(describe(e)) in string", at: i - 2)
            }
        }
        throw fail("unterminated string", at: open)
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard n - i >= 4 else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p[i]
            let d: UInt8
            switch c {
            case zero...nine: d = c - zero
            case 0x61...0x66: d = c - 0x61 + 10
            case 0x41...0x46: d = c - 0x41 + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    // MARK: numbers

    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = i
        var negative = false
        if p[i] == minus { negative = true; i += 1 }
        guard i < n, p[i] >= zero, p[i] <= nine else { throw fail("invalid number", at: start) }
        // Accumulate as a negative magnitude so that Int64.min is representable.
        var value: Int64 = 0
        var overflow = false
        if p[i] == zero {
            i += 1
        } else {
            while i < n, p[i] >= zero, p[i] <= nine {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.subtractingReportingOverflow(Int64(p[i] - zero))
                overflow = overflow || o1 || o2
                value = s
                i += 1
            }
        }
        var isInteger = true
        if i < n, p[i] == dot {
            isInteger = false
            i += 1
            guard i < n, p[i] >= zero, p[i] <= nine else { throw fail("digit expected after '.'") }
            while i < n, p[i] >= zero, p[i] <= nine { i += 1 }
        }
        if i < n, p[i] == 0x65 || p[i] == 0x45 {
            isInteger = false
            i += 1
            if i < n, p[i] == plus || p[i] == minus { i += 1 }
            guard i < n, p[i] >= zero, p[i] <= nine else { throw fail("digit expected in exponent") }
            while i < n, p[i] >= zero, p[i] <= nine { i += 1 }
        }
        if isInteger {
            if !negative {
                if value == .min { overflow = true } else { value = -value }
            }
            if overflow { throw fail("integer out of the 64-bit range", at: start) }
            return .int(value)
        }
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw fail("number out of range", at: start) }
        return .double(d)
    }
}

private func describe(_ byte: UInt8) -> String {
    byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x" + String(byte, radix: 16)
}

private func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        bytes.append(UInt8(scalar))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | scalar >> 6)); bytes.append(UInt8(0x80 | scalar & 0x3F))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | scalar >> 12)); bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    default:
        bytes.append(UInt8(0xF0 | scalar >> 18)); bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
        bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F)); bytes.append(UInt8(0x80 | scalar & 0x3F))
    }
}

/// Strict UTF-8 validation (Unicode Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
func validUTF8(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i < count {
        let b0 = p[i]
        if b0 < 0x80 { i += 1; continue }
        @inline(__always) func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < count && p[i + k] >= lo && p[i + k] <= hi
        }
        switch b0 {
        case 0xC2...0xDF:
            guard cont(1) else { return false }
            i += 2
        case 0xE0:
            guard cont(1, 0xA0), cont(2) else { return false }
            i += 3
        case 0xE1...0xEC, 0xEE...0xEF:
            guard cont(1), cont(2) else { return false }
            i += 3
        case 0xED:
            guard cont(1, 0x80, 0x9F), cont(2) else { return false }
            i += 3
        case 0xF0:
            guard cont(1, 0x90), cont(2), cont(3) else { return false }
            i += 4
        case 0xF1...0xF3:
            guard cont(1), cont(2), cont(3) else { return false }
            i += 4
        case 0xF4:
            guard cont(1, 0x80, 0x8F), cont(2), cont(3) else { return false }
            i += 4
        default:
            return false
        }
    }
    return true
}
