import AbmWire
import CampaignStore
import Crypto
import Foundation
import NIOConcurrencyHelpers

/// The global suppression list, in memory (loaded at start, extended after each commit), so the engine
/// can ask synchronously through `EngineContext`. Erased addresses are kept only as their hash
/// (`Suppression.hashed`); an address is hashed to look it up only while there is at least one.
final class SuppressionList: Sendable {
    private struct Entries {
        var emails: Set<String> = []
        var hashes: Set<String> = []

        mutating func add(_ entry: String) {
            if let hash = Suppression.hash(of: entry) { hashes.insert(hash) } else { emails.insert(entry) }
        }
    }

    private let entries: NIOLockedValueBox<Entries>

    init(_ initial: Set<String> = []) {
        var e = Entries()
        initial.forEach { e.add($0) }
        entries = NIOLockedValueBox(e)
    }

    func contains(_ email: String) -> Bool {
        let (plain, hashed) = entries.withLockedValue { ($0.emails.contains(email), !$0.hashes.isEmpty) }
        if plain { return true }
        guard hashed else { return false }
        let hash = EmailHash.sha256(email)
        return entries.withLockedValue { $0.hashes.contains(hash) }
    }

    func insert<S: Sequence>(contentsOf more: S) where S.Element == String {
        entries.withLockedValue { e in more.forEach { e.add($0) } }
    }

    /// An erased address: from now on only its hash is kept.
    func erase(_ email: String, emailSHA256: String) {
        entries.withLockedValue {
            $0.emails.remove(email)
            $0.hashes.insert(emailSHA256)
        }
    }

    func replace(with all: Set<String>) {
        var e = Entries()
        all.forEach { e.add($0) }
        entries.withLockedValue { $0 = e }
    }

    var count: Int { entries.withLockedValue { $0.emails.count + $0.hashes.count } }
}

/// The hash an erased address is kept as: lower-case hex SHA-256 of its normalised (lower-case) form.
public enum EmailHash {
    public static func sha256(_ email: String) -> String {
        // Hex written into one buffer: asked on every suppression check once an address was erased.
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(email.lowercased().utf8)) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
