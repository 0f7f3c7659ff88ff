import Foundation
import GRDB
import GRDBSQLite

/// Binds and steps one of GRDB's cached statements through SQLite's C API, for the few statements a commit
/// runs per write.
///
/// Why: `setUncheckedArguments([...])` builds an array of existentials, converts each value to a
/// `DatabaseValue`, and GRDB and then SQLite copy every string and blob, for five statements per new lead:
/// about 35 of the 170 allocations a lead cost (valgrind DHAT, `Benchmarks/RESULTS-request-path.md`). Here
/// strings and blobs are bound in place (SQLITE_STATIC) while the statement runs. Statements stay prepared
/// and cached by GRDB; this only replaces its argument handling. Every call resets the statement and clears
/// its bindings afterwards, so none is left active or pointing at freed bytes.
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
        defer {
            sqlite3_reset(h)
            sqlite3_clear_bindings(h)
        }
        try bind(values[...], to: h) {
            var code = sqlite3_step(h)
            while code == SQLITE_ROW { code = sqlite3_step(h) }
            guard code == SQLITE_DONE else { throw error(code) }
        }
    }

    /// Binds the first value with its bytes borrowed, not copied (SQLITE_STATIC), and recurses: the bytes of
    /// every string and blob stay valid until `body`, which steps the statement, returns.
    private func bind(_ values: ArraySlice<RawValue>, to h: SQLiteStatement, then body: () throws -> Void) throws {
        guard let value = values.first else { return try body() }
        let index = Int32(values.startIndex + 1)
        let rest = values.dropFirst()
        var result: Result<Void, any Error> = .success(())
        let code: Int32
        switch value {
        case .null: code = sqlite3_bind_null(h, index)
        case .int(let v): code = sqlite3_bind_int64(h, index, v)
        case .text(var s):
            code = s.withUTF8 { utf8 in
                let code = sqlite3_bind_text(h, index, utf8.baseAddress, Int32(utf8.count), nil)
                if code == SQLITE_OK { result = Result { try bind(rest, to: h, then: body) } }
                return code
            }
        case .blob(let d):
            if d.isEmpty {
                // A zero-length blob is still a blob, not NULL.
                code = sqlite3_bind_zeroblob(h, index, 0)
                if code == SQLITE_OK { result = Result { try bind(rest, to: h, then: body) } }
            } else {
                code = d.withUnsafeBytes { bytes in
                    let code = sqlite3_bind_blob(h, index, bytes.baseAddress, Int32(bytes.count), nil)
                    if code == SQLITE_OK { result = Result { try bind(rest, to: h, then: body) } }
                    return code
                }
            }
        }
        guard code == SQLITE_OK else { throw error(code) }
        switch value {
        case .null, .int: try bind(rest, to: h, then: body)
        case .text, .blob: try result.get()
        }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = sqlite3_db_handle(handle).map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message,
                             sql: String(cString: sqlite3_sql(handle)))
    }

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
