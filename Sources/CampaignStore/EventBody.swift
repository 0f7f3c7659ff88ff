import Foundation

/// Builds the stored body of an event: `{"seq":N,` followed by the caller's object minus its leading `{`.
/// Every engine uses this so the bytes a subscriber sees are identical whatever the engine (`package`: the
/// PostgreSQL engine is another target).
package enum EventBody {
    /// - Throws: `StoreError` `store.event_body_not_object` when `body` is not a JSON object
    ///   (its first non-blank byte is not `{` or its last non-blank byte is not `}`).
    package static func numbered(seq: Int64, body: Data, type: String) throws -> Data {
        // On the bytes in place, into one buffer sized up front: this runs for every event committed.
        try body.withUnsafeBytes { raw throws -> Data in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let first = bytes.firstIndex(where: { !isBlank($0) }), bytes[first] == UInt8(ascii: "{"),
                  let last = bytes.lastIndex(where: { !isBlank($0) }), last > first, bytes[last] == UInt8(ascii: "}")
            else {
                throw StoreError(code: "store.event_body_not_object",
                                 message: "event body of type '\(type)' must be a JSON object")
            }
            var out = Data(capacity: bytes.count + 28)
            out.append(contentsOf: "{\"seq\":\(seq)".utf8)
            let rest = UnsafeBufferPointer(rebasing: bytes[(first + 1)...last])
            // `{}` (or `{ }`) becomes `{"seq":N}`; anything else keeps its members after a comma.
            if rest.first(where: { !isBlank($0) }) == UInt8(ascii: "}") {
                out.append(UInt8(ascii: "}"))
            } else {
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: rest)
            }
            return out
        }
    }

    /// Validates a body without numbering it (used to check a whole batch before applying any of it).
    /// A rewritten body keeps its seq first and stays an object.
    package static func checkRewrite(_ r: EventRewrite) throws {
        guard r.body.starts(with: Data("{\"seq\":\(r.seq),".utf8)), r.body.last == UInt8(ascii: "}") else {
            throw StoreError(code: "store.event_body_not_object",
                             message: "the rewritten body of event \(r.seq) must be an object starting with its seq")
        }
    }

    package static func validate(_ body: Data, type: String) throws {
        _ = try numbered(seq: 0, body: body, type: type)
    }

    private static func isBlank(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
    }
}

/// The storage representation of a date: whole milliseconds since 1970 (Int64), in every engine.
/// Dates read back are rounded to the millisecond, in the in-memory twin too, so both engines agree.
package enum StoreTime {
    package static func millis(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    package static func date(_ millis: Int64) -> Date {
        Date(timeIntervalSince1970: Double(millis) / 1000)
    }

    package static func normalized(_ date: Date) -> Date {
        self.date(millis(date))
    }
}
