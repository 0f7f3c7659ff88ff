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
