import Foundation

/// The stable error codes every engine throws.
extension StoreError {
    /// Any call after `close()`.
    public static let closed = StoreError(code: "store.closed", message: "the store is closed")

    /// A write's `expectedVersion` differs from the stored version; the whole batch was rolled back.
    public static func versionConflict(accountId: String, expected: Int64, actual: Int64) -> StoreError {
        StoreError(code: "store.version_conflict",
                   message: "account '\(accountId)': expectedVersion \(expected), stored version \(actual)")
    }
}
