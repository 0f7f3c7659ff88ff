import Foundation

/// Touches per channel (indexed by `Channel.index`), kept inline: an `[Int]` was one more heap allocation
/// (~80 B with malloc's overhead) per contact of every resident campaign. Encodes as the `[Int]` it
/// replaces (an unkeyed container of ints), so stored states read and write the same bytes.
public struct TouchCounts: Sendable, Hashable, RandomAccessCollection, MutableCollection, ExpressibleByArrayLiteral {
    /// At most this many counters (one per channel).
    public static let capacity = 4
    private var c0: UInt32 = 0, c1: UInt32 = 0, c2: UInt32 = 0, c3: UInt32 = 0
    /// How many counters there are: an array decoded with fewer is written back with as many.
    private var n: UInt8 = 0

    public init(arrayLiteral elements: Int...) { self.init(elements) }

    /// Traps beyond `capacity` counters or on a count outside 0...UInt32.max, like an out-of-range index.
    public init(_ counts: some Collection<Int>) {
        precondition(counts.count <= Self.capacity, "TouchCounts holds at most \(Self.capacity) counters")
        n = UInt8(counts.count)
        for (i, v) in counts.enumerated() { self[i] = v }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(n) }

    public subscript(i: Int) -> Int {
        get {
            precondition(i >= 0 && i < Int(n), "TouchCounts index out of range")
            switch i {
            case 0: return Int(c0)
            case 1: return Int(c1)
            case 2: return Int(c2)
            default: return Int(c3)
            }
        }
        set {
            precondition(i >= 0 && i < Int(n), "TouchCounts index out of range")
            let v = UInt32(newValue)
            switch i {
            case 0: c0 = v
            case 1: c1 = v
            case 2: c2 = v
            default: c3 = v
            }
        }
    }
}

extension TouchCounts: Codable {
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        while !c.isAtEnd {
            let v = try c.decode(Int.self)
            guard Int(n) < Self.capacity, let u = UInt32(exactly: v) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "touch counters: at most \(Self.capacity), each 0...\(UInt32.max)")
            }
            n += 1
            self[Int(n) - 1] = Int(u)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        for v in self { try c.encode(v) }
    }
}

/// A `Date?` in 8 bytes instead of 16 (an optional `Date` adds a tag byte, padded to 8 in a struct): nil
/// is one NaN bit pattern, which no instant the engine stores has. The `Date` itself round-trips exactly
/// (its stored double is kept bit for bit).
struct PackedDate: Sendable, Equatable {
    private static let none: UInt64 = 0x7FF8_0000_ABAD_DA7E
    private var bits: UInt64

    init(_ date: Date?) {
        bits = date.map { $0.timeIntervalSinceReferenceDate.bitPattern } ?? Self.none
    }

    var date: Date? {
        get { bits == Self.none ? nil : Date(timeIntervalSinceReferenceDate: Double(bitPattern: bits)) }
        set { self = PackedDate(newValue) }
    }

    /// As `Date?`'s `==` (a bit-pattern comparison would differ for 0.0 and -0.0).
    static func == (a: PackedDate, b: PackedDate) -> Bool { a.date == b.date }
}
