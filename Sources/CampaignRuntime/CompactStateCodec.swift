import AbmWire
import CampaignCore
import Foundation

/// `AccountState` in a compact, self-describing binary form, written straight from `Codable` without
/// Foundation's intermediate JSON tree (measured: JSONEncoder was ~18% of a touch's CPU).
///
/// Layout: a magic byte `0xB1`, then one value. A value is a tag byte and its payload:
/// `0` nil · `1` false · `2` true · `3` integer (zig-zag LEB128) · `4` double (8 bytes, little endian) ·
/// `5` string (LEB128 length + UTF-8) · `6` keyed container (pairs of key (a tagged string) and value, then `9`) ·
/// `7` unkeyed container (values, then `9`). Dates are doubles (seconds since 2001, as Date's Codable).
/// Keys are written by name, so added or removed fields decode as with JSON. A blob that starts with
/// `{` is JSON (written by `JSONStateCodec`) and is still read.
public struct CompactStateCodec: StateCodec {
    public init() {}

    public func encode(_ state: AccountState) throws -> Data {
        var w = CompactStateWriter()
        w.bytes.reserveCapacity(512)
        w.bytes.append(CompactTag.magic)
        w.accountState(state)  // hand-written, same bytes as `encodeGeneric` (see CompactStateWriter.swift)
        return Data(w.bytes)
    }

    /// The same encoding through `Codable` (the reference the hand-written writer is tested against).
    func encodeGeneric(_ state: AccountState) throws -> Data {
        let w = CompactWriter()
        w.bytes.append(CompactTag.magic)
        try w.value(state)
        return Data(w.bytes)
    }

    public func decode(_ data: Data) throws -> AccountState {
        if data.first == UInt8(ascii: "{") { return try JSONDecoder().decode(AccountState.self, from: data) }
        let r = CompactReader(Array(data))
        guard r.bytes.first == CompactTag.magic else { throw r.corrupt("bad magic byte") }
        return try AccountState(from: CompactDecoder(r: r, offset: 1, codingPath: []))
    }
}

enum CompactTag {
    static let magic: UInt8 = 0xB1
    static let null: UInt8 = 0, falseV: UInt8 = 1, trueV: UInt8 = 2, int: UInt8 = 3, double: UInt8 = 4
    static let string: UInt8 = 5, keyed: UInt8 = 6, unkeyed: UInt8 = 7, end: UInt8 = 9
}

// MARK: - Writing

final class CompactWriter {
    var bytes: [UInt8] = []

    final class Opened {
        var container = false
        var single = false
    }

    func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    func int(_ i: Int64) {
        bytes.append(CompactTag.int)
        varint(UInt64(bitPattern: (i << 1) ^ (i >> 63)))
    }

    func double(_ d: Double) {
        bytes.append(CompactTag.double)
        withUnsafeBytes(of: d.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    func rawString(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(UInt64(u.count))
            bytes.append(contentsOf: u)
        }
    }

    func string(_ s: String) {
        bytes.append(CompactTag.string)
        rawString(s)
    }

    /// A key in a keyed container: tagged like a string, so it can never be read as the end tag.
    func key(_ s: String) { string(s) }

    func bool(_ b: Bool) { bytes.append(b ? CompactTag.trueV : CompactTag.falseV) }

    /// One `Opened` per nesting depth, reused (a fresh object per nested value was measurable).
    private var openedStack: [Opened] = []
    private var depth = 0

    /// Any Encodable value, with fast paths for the primitive types (metadata compares, not dynamic casts).
    func value<T: Encodable>(_ v: T) throws {
        if T.self == String.self { string(v as! String); return }
        if T.self == Date.self { double((v as! Date).timeIntervalSinceReferenceDate); return }
        if T.self == Int.self { int(Int64(v as! Int)); return }
        if T.self == Bool.self { bool(v as! Bool); return }
        if T.self == Double.self { double(v as! Double); return }
        if depth == openedStack.count { openedStack.append(Opened()) }
        let opened = openedStack[depth]
        opened.container = false
        opened.single = false
        depth += 1
        defer { depth -= 1 }
        try v.encode(to: CompactEncoder(w: self, opened: opened))
        if opened.container { bytes.append(CompactTag.end) } else if !opened.single { bytes.append(CompactTag.null) }
    }
}

struct CompactEncoder: Encoder {
    let w: CompactWriter
    let opened: CompactWriter.Opened
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if !opened.container {
            opened.container = true
            w.bytes.append(CompactTag.keyed)
        }
        return KeyedEncodingContainer(CompactKeyedEncoder<Key>(w: w))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if !opened.container {
            opened.container = true
            w.bytes.append(CompactTag.unkeyed)
        }
        return CompactUnkeyedEncoder(w: w)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        opened.single = true
        return CompactSingleEncoder(w: w)
    }
}

struct CompactKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let w: CompactWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { w.key(key.stringValue); w.bytes.append(CompactTag.null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { w.key(key.stringValue); w.bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { w.key(key.stringValue); w.string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { w.key(key.stringValue); w.double(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { w.key(key.stringValue); w.double(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { w.key(key.stringValue); w.int(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(bitPattern: UInt64(value))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { w.key(key.stringValue); w.int(Int64(bitPattern: value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { w.key(key.stringValue); try w.value(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        fatalError("CompactStateCodec does not support nested containers; encode a nested value instead")
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        fatalError("CompactStateCodec does not support nested containers; encode a nested value instead")
    }
    mutating func superEncoder() -> any Encoder { fatalError("CompactStateCodec does not support superEncoder") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { fatalError("CompactStateCodec does not support superEncoder") }
}

struct CompactUnkeyedEncoder: UnkeyedEncodingContainer {
    let w: CompactWriter
    var codingPath: [any CodingKey] { [] }
    var count = 0

    mutating func encodeNil() throws { w.bytes.append(CompactTag.null); count += 1 }
    mutating func encode(_ value: Bool) throws { w.bool(value); count += 1 }
    mutating func encode(_ value: String) throws { w.string(value); count += 1 }
    mutating func encode(_ value: Double) throws { w.double(value); count += 1 }
    mutating func encode(_ value: Int) throws { w.int(Int64(value)); count += 1 }
    mutating func encode(_ value: Int64) throws { w.int(value); count += 1 }
    mutating func encode<T: Encodable>(_ value: T) throws { try w.value(value); count += 1 }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        fatalError("CompactStateCodec does not support nested containers; encode a nested value instead")
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        fatalError("CompactStateCodec does not support nested containers; encode a nested value instead")
    }
    mutating func superEncoder() -> any Encoder { fatalError("CompactStateCodec does not support superEncoder") }
}

struct CompactSingleEncoder: SingleValueEncodingContainer {
    let w: CompactWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { w.bytes.append(CompactTag.null) }
    mutating func encode(_ value: Bool) throws { w.bool(value) }
    mutating func encode(_ value: String) throws { w.string(value) }
    mutating func encode(_ value: Double) throws { w.double(value) }
    mutating func encode(_ value: Float) throws { w.double(Double(value)) }
    mutating func encode(_ value: Int) throws { w.int(Int64(value)) }
    mutating func encode(_ value: Int8) throws { w.int(Int64(value)) }
    mutating func encode(_ value: Int16) throws { w.int(Int64(value)) }
    mutating func encode(_ value: Int32) throws { w.int(Int64(value)) }
    mutating func encode(_ value: Int64) throws { w.int(value) }
    mutating func encode(_ value: UInt) throws { w.int(Int64(bitPattern: UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { w.int(Int64(value)) }
    mutating func encode(_ value: UInt16) throws { w.int(Int64(value)) }
    mutating func encode(_ value: UInt32) throws { w.int(Int64(value)) }
    mutating func encode(_ value: UInt64) throws { w.int(Int64(bitPattern: value)) }
    mutating func encode<T: Encodable>(_ value: T) throws { try w.value(value) }
}

// MARK: - Reading

final class CompactReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func corrupt(_ what: String, _ path: [any CodingKey] = []) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "compact state: \(what)"))
    }

    func byte(_ at: Int) throws -> UInt8 {
        guard at < bytes.count else { throw corrupt("truncated") }
        return bytes[at]
    }

    /// Reads a LEB128 number at `at`; returns it and the offset after it.
    func varint(_ at: Int) throws -> (UInt64, Int) {
        var v: UInt64 = 0, shift: UInt64 = 0, i = at
        while true {
            let b = try byte(i)
            i += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return (v, i) }
            shift += 7
            guard shift < 64 else { throw corrupt("varint too long") }
        }
    }

    /// The byte range of a raw string (length + bytes) at `at`, and the offset after it.
    func rawString(_ at: Int) throws -> (Range<Int>, Int) {
        let (len, start) = try varint(at)
        let end = start + Int(len)
        guard end <= bytes.count else { throw corrupt("truncated string") }
        return (start..<end, end)
    }

    /// The offset just after the value at `at`.
    func skip(_ at: Int) throws -> Int {
        switch try byte(at) {
        case CompactTag.null, CompactTag.falseV, CompactTag.trueV: return at + 1
        case CompactTag.int: return try varint(at + 1).1
        case CompactTag.double: return at + 9
        case CompactTag.string: return try rawString(at + 1).1
        case CompactTag.keyed:
            var i = at + 1
            while try byte(i) != CompactTag.end {
                i = try key(i).1
                i = try skip(i)
            }
            return i + 1
        case CompactTag.unkeyed:
            var i = at + 1
            while try byte(i) != CompactTag.end { i = try skip(i) }
            return i + 1
        default: throw corrupt("unknown tag at \(at)")
        }
    }

    /// A key (a tagged string) at `at`: its byte range and the offset after it.
    func key(_ at: Int) throws -> (Range<Int>, Int) {
        guard try byte(at) == CompactTag.string else { throw corrupt("expected a key at \(at)") }
        return try rawString(at + 1)
    }

    func isNil(_ at: Int) throws -> Bool { try byte(at) == CompactTag.null }

    func bool(_ at: Int) throws -> Bool {
        switch try byte(at) {
        case CompactTag.trueV: return true
        case CompactTag.falseV: return false
        default: throw corrupt("expected a bool")
        }
    }

    func int(_ at: Int) throws -> Int64 {
        guard try byte(at) == CompactTag.int else { throw corrupt("expected an integer") }
        let (z, _) = try varint(at + 1)
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    func double(_ at: Int) throws -> Double {
        switch try byte(at) {
        case CompactTag.double:
            guard at + 9 <= bytes.count else { throw corrupt("truncated double") }
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(bytes[at + 1 + k]) << (8 * UInt64(k)) }
            return Double(bitPattern: bits)
        case CompactTag.int: return Double(try int(at))
        default: throw corrupt("expected a number")
        }
    }

    func string(_ at: Int) throws -> String {
        guard try byte(at) == CompactTag.string else { throw corrupt("expected a string") }
        let (range, _) = try rawString(at + 1)
        return String(decoding: bytes[range], as: UTF8.self)
    }

    func value<T: Decodable>(_ type: T.Type, _ at: Int, _ path: [any CodingKey]) throws -> T {
        if type == String.self { return try string(at) as! T }
        if type == Date.self { return Date(timeIntervalSinceReferenceDate: try double(at)) as! T }
        if type == Int.self { return Int(try int(at)) as! T }
        if type == Bool.self { return try bool(at) as! T }
        if type == Double.self { return try double(at) as! T }
        return try T(from: CompactDecoder(r: self, offset: at, codingPath: path))
    }

    func integer<I: FixedWidthInteger>(_ at: Int) throws -> I {
        let v = try int(at)
        guard let i = I(exactly: v) else { throw corrupt("integer out of range") }
        return i
    }
}

struct CompactDecoder: Decoder {
    let r: CompactReader
    let offset: Int
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard try r.byte(offset) == CompactTag.keyed else { throw r.corrupt("expected a keyed container", codingPath) }
        return KeyedDecodingContainer(try CompactKeyedDecoder<Key>(r: r, offset: offset, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard try r.byte(offset) == CompactTag.unkeyed else { throw r.corrupt("expected an unkeyed container", codingPath) }
        return try CompactUnkeyedDecoder(r: r, offset: offset, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        CompactSingleDecoder(r: r, offset: offset, codingPath: codingPath)
    }
}

struct CompactKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let r: CompactReader
    var codingPath: [any CodingKey]
    /// (key bytes, value offset), in stored order.
    private var entries: [(Range<Int>, Int)] = []

    init(r: CompactReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.r = r
        self.codingPath = codingPath
        var i = offset + 1
        while try r.byte(i) != CompactTag.end {
            let (key, valueAt) = try r.key(i)
            entries.append((key, valueAt))
            i = try r.skip(valueAt)
        }
    }

    var allKeys: [Key] {
        entries.compactMap { Key(stringValue: String(decoding: r.bytes[$0.0], as: UTF8.self)) }
    }

    private func find(_ key: Key) -> Int? {
        let name = key.stringValue
        for (range, at) in entries where range.count == name.utf8.count && r.bytes[range].elementsEqual(name.utf8) {
            return at
        }
        return nil
    }

    private func at(_ key: Key) throws -> Int {
        guard let at = find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "compact state: no \(key.stringValue)"))
        }
        return at
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }
    func decodeNil(forKey key: Key) throws -> Bool { try r.isNil(try at(key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try r.bool(try at(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try r.string(try at(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try r.double(try at(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try r.double(try at(key))) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try r.integer(try at(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try r.integer(try at(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try r.integer(try at(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try r.integer(try at(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try r.int(try at(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { UInt(UInt64(bitPattern: try r.int(try at(key)))) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try r.integer(try at(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try r.integer(try at(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try r.integer(try at(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { UInt64(bitPattern: try r.int(try at(key))) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try r.value(type, try at(key), codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try CompactDecoder(r: r, offset: try at(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try CompactDecoder(r: r, offset: try at(key), codingPath: codingPath + [key]).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder { throw r.corrupt("superDecoder is not supported", codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw r.corrupt("superDecoder is not supported", codingPath) }
}

struct CompactUnkeyedDecoder: UnkeyedDecodingContainer {
    let r: CompactReader
    var codingPath: [any CodingKey]
    private var offsets: [Int] = []
    var currentIndex = 0

    init(r: CompactReader, offset: Int, codingPath: [any CodingKey]) throws {
        self.r = r
        self.codingPath = codingPath
        var i = offset + 1
        while try r.byte(i) != CompactTag.end {
            offsets.append(i)
            i = try r.skip(i)
        }
    }

    var count: Int? { offsets.count }
    var isAtEnd: Bool { currentIndex >= offsets.count }

    private mutating func next() throws -> Int {
        guard !isAtEnd else { throw r.corrupt("unkeyed container is at its end", codingPath) }
        defer { currentIndex += 1 }
        return offsets[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw r.corrupt("unkeyed container is at its end", codingPath) }
        if try r.isNil(offsets[currentIndex]) {
            currentIndex += 1
            return true
        }
        return false
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try r.bool(try next()) }
    mutating func decode(_ type: String.Type) throws -> String { try r.string(try next()) }
    mutating func decode(_ type: Double.Type) throws -> Double { try r.double(try next()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try r.integer(try next()) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try r.int(try next()) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try r.value(type, try next(), codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try CompactDecoder(r: r, offset: try next(), codingPath: codingPath).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try CompactDecoder(r: r, offset: try next(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder { throw r.corrupt("superDecoder is not supported", codingPath) }
}

struct CompactSingleDecoder: SingleValueDecodingContainer {
    let r: CompactReader
    let offset: Int
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool { (try? r.isNil(offset)) ?? false }
    func decode(_ type: Bool.Type) throws -> Bool { try r.bool(offset) }
    func decode(_ type: String.Type) throws -> String { try r.string(offset) }
    func decode(_ type: Double.Type) throws -> Double { try r.double(offset) }
    func decode(_ type: Float.Type) throws -> Float { Float(try r.double(offset)) }
    func decode(_ type: Int.Type) throws -> Int { try r.integer(offset) }
    func decode(_ type: Int8.Type) throws -> Int8 { try r.integer(offset) }
    func decode(_ type: Int16.Type) throws -> Int16 { try r.integer(offset) }
    func decode(_ type: Int32.Type) throws -> Int32 { try r.integer(offset) }
    func decode(_ type: Int64.Type) throws -> Int64 { try r.int(offset) }
    func decode(_ type: UInt.Type) throws -> UInt { UInt(UInt64(bitPattern: try r.int(offset))) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try r.integer(offset) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try r.integer(offset) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try r.integer(offset) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { UInt64(bitPattern: try r.int(offset)) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try r.value(type, offset, codingPath) }
}
