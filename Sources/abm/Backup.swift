import AbmWire
import ArgumentParser
import CampaignCore
import CampaignGateway
import CampaignStore
import Foundation

/// `abm backup OUT`: an online, consistent copy of the server's SQLite store.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the SQLite store to a new file, consistently, while the server runs (or not).",
        discussion: """
        Uses SQLite's online backup API from one read transaction: the copy is the store as of one \
        instant, and the server keeps serving meanwhile. OUT is created with mode 0600 and never \
        overwritten; a failed backup leaves no OUT behind. Run it where the data directory is (the same \
        host, as a user that can read it). Restore: stop the server, put the copy in place as \
        DATA_DIR/abm.sqlite (removing abm.sqlite-wal and abm.sqlite-shm), start the server \
        (docs/operations.md). Exit status: 0 done, 2 bad input or the copy failed.
        """)

    @Argument(help: "The backup file to create, e.g. abm-2026-03-02.sqlite.") var output: String
    @Option(name: .customLong("data-dir"), help: "The server's data directory (default: data_dir of --config, else ./abm-data).")
    var dataDir: String?
    @Option(help: "The server's JSON configuration file, for its data_dir.") var config: String?
    @Flag(help: "Print the outcome as JSON.") var json = false

    func run() throws {
        var directory = dataDir
        if directory == nil, let config {
            do { directory = try ServerConfigFile(contentsOf: config).dataDirectory } catch {
                try fail(code: error.code.rawValue, message: "--config: \(error.message)")
            }
        }
        let source = URL(fileURLWithPath: directory ?? "./abm-data", isDirectory: true)
            .appendingPathComponent(ServerOptions.databaseFileName).path
        do {
            let summary = try SQLiteBackup.run(source: source, destination: output)
            if json {
                printJSON(["ok": true, "path": .string(summary.path), "bytes": .int(summary.bytes),
                           "last_seq": .int(summary.lastSeq), "accounts": .int(summary.accounts),
                           "schema": .string(summary.schema)])
            } else {
                print("backup \(summary.path): \(summary.bytes) bytes, \(summary.accounts) accounts, "
                      + "events up to seq \(summary.lastSeq), schema \(summary.schema)")
            }
        } catch let error as StoreError {
            try fail(code: error.code, message: error.message)
        }
    }

    private func fail(code: String, message: String) throws -> Never {
        if json { printJSON(["ok": false, "error": ["code": .string(code), "message": .string(message)]]) }
        printError("abm: \(code): \(message)")
        throw ExitCode(2)
    }
}
