import Foundation

/// The stable error codes every engine throws.
extension StoreError {
    /// Any call after `close()`.
    public static let closed = StoreError(code: "store.closed", message: "the store is closed")

    /// A write's `epoch` is no longer its shard's lease epoch: another owner took the shard over. The whole
    /// batch was rolled back; the writer must stop writing that shard.
    public static func fenced(shard: Int, epoch: Int64, current: Int64?) -> StoreError {
        StoreError(code: fencedCode,
                   message: "shard \(shard): written under epoch \(epoch), the lease is now at \(current.map(String.init) ?? "none")")
    }

    public static let fencedCode = "store.fenced"

    /// A write touches an address another process suppressed before this commit: the whole batch was rolled
    /// back. The message lists the addresses, one per line after the first (`suppressedEmails`).
    public static func suppressed(_ emails: [String]) -> StoreError {
        StoreError(code: suppressedCode, message: "addresses suppressed by another process since the decision:\n"
                   + emails.joined(separator: "\n"))
    }

    public static let suppressedCode = "store.suppressed"

    /// The addresses of a `store.suppressed` error; empty for any other.
    public var suppressedEmails: [String] {
        guard code == Self.suppressedCode else { return [] }
        return message.split(separator: "\n").dropFirst().map(String.init)
    }

    /// A write's `expectedVersion` differs from the stored version; the whole batch was rolled back.
    public static func versionConflict(accountId: String, expected: Int64, actual: Int64) -> StoreError {
        StoreError(code: "store.version_conflict",
                   message: "account '\(accountId)': expectedVersion \(expected), stored version \(actual)")
    }
}

extension StoreError {
    /// Meta keys starting with this belong to the store itself (published seq, account counter).
    public static let reservedMetaPrefix = "store."

    /// `meta`/`setMeta` with a key under `reservedMetaPrefix`.
    public static func reservedMetaKey(_ key: String) -> StoreError {
        StoreError(code: "store.reserved_meta_key", message: "meta key '\(key)' is reserved (prefix '\(reservedMetaPrefix)')")
    }

    package static func checkMetaKey(_ key: String) throws {
        if key.hasPrefix(reservedMetaPrefix) { throw reservedMetaKey(key) }
    }
}
