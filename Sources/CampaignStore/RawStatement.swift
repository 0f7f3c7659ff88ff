import Foundation
import GRDB
import GRDBSQLite

/// Binds and steps one of GRDB's cached statements through SQLite's C API, for the few statements a commit
/// runs per write.
///
/// Why: `setUncheckedArguments([...])` builds an array of existentials, converts each value to a
/// `DatabaseValue` and copies every string and blob, five times per new lead; binding directly took that
/// cost out of the commit path (`Benchmarks/RESULTS-request-path.md`, 2026-12-01 afternoon). Statements
/// stay prepared and cached by GRDB; this only replaces its argument handling. Every call resets the
/// statement first and after, so none is left active.
struct RawStatement {
    private let statement: Statement
    private var handle: SQLiteStatement { statement.sqliteStatement }

    init(_ statement: Statement) {
        self.statement = statement
    }

    /// Binds `values` (1-based, in order) and runs the statement to completion.
    func execute(_ values: RawValue...) throws {
        try run(values)
    }

    /// Binds `values`, runs the statement and returns how many rows it inserted, updated or deleted.
    func changes(_ values: RawValue...) throws -> Int {
        try run(values)
        return Int(sqlite3_changes(sqlite3_db_handle(handle)))
    }

    private func run(_ values: [RawValue]) throws {
        let h = handle
        sqlite3_reset(h)
        defer { sqlite3_reset(h) }
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(h, index)
            case .int(let v): code = sqlite3_bind_int64(h, index, v)
            case .text(var s):
                code = s.withUTF8 { sqlite3_bind_text(h, index, $0.baseAddress, Int32($0.count), Self.transient) }
            case .blob(let d):
                // A zero-length blob is still a blob, not NULL.
                code = d.isEmpty ? sqlite3_bind_zeroblob(h, index, 0)
                    : d.withUnsafeBytes { sqlite3_bind_blob(h, index, $0.baseAddress, Int32($0.count), Self.transient) }
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
        var code = sqlite3_step(h)
        while code == SQLITE_ROW { code = sqlite3_step(h) }
        guard code == SQLITE_DONE else { throw error(code) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = sqlite3_db_handle(handle).map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message,
                             sql: String(cString: sqlite3_sql(handle)))
    }

    /// SQLite copies the bytes before the bind returns (SQLITE_TRANSIENT).
    private static var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }
}

/// A value bound by `RawStatement`.
enum RawValue {
    case null
    case int(Int64)
    case text(String)
    case blob(Data)

    static func int(_ v: Int) -> RawValue { .int(Int64(v)) }
    static func text(_ s: String?) -> RawValue { s.map { .text($0) } ?? .null }
    static func int(_ v: Int64?) -> RawValue { v.map { .int($0) } ?? .null }
}
