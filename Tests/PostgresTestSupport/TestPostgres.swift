// A throwaway PostgreSQL server for the tests of one process: Debian's postgresql-15 (`make deps`), initialised
// in a temporary directory and listening on a free loopback port, as the `postgres` user when the tests run as
// root (PostgreSQL refuses root). Started once per test process, on first use, and stopped at exit; each test
// takes a fresh database. How to run it by hand: docs/operations.md "On PostgreSQL".
import AbmTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One database of the test server, empty when handed out.
public struct TestDatabase: Sendable {
    public let host: String
    public let port: Int
    public let user: String
    public let name: String

    /// `postgresql://postgres@127.0.0.1:PORT/NAME?sslmode=disable`, as `abm serve --store` takes it.
    public var url: String { "postgresql://\(user)@\(host):\(port)/\(name)?sslmode=disable" }
}

/// The server could not be set up: the message says which step failed and how to fix it.
public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
}

/// The process's test PostgreSQL. Tests that need it call `TestPostgres.database()`; they never skip: a machine
/// without PostgreSQL fails them with the command that installs it.
public enum TestPostgres {
    /// A new, empty database on the shared server (the server starts on the first call).
    public static func database(_ label: String = "t") async throws -> TestDatabase {
        let server = try await TestPostgresServer.shared.started()
        let name = "\(label.lowercased().filter { $0.isLetter || $0.isNumber })_\(UUID().uuidString.prefix(8).lowercased())"
        try await server.createDatabase(name)
        return TestDatabase(host: "127.0.0.1", port: server.port, user: "postgres", name: name)
    }

    /// Runs SQL through psql on `database` (e.g. to look at a table the store does not expose); returns its
    /// unaligned, tuples-only output.
    @discardableResult
    public static func psql(_ database: TestDatabase, _ sql: String) async throws -> String {
        let server = try await TestPostgresServer.shared.started()
        return try await server.psql(database: database.name, sql)
    }
}

/// Starts the server once (an actor so that concurrent first users wait for the same start).
actor TestPostgresServer {
    static let shared = TestPostgresServer()

    struct Running: Sendable {
        let bin: String
        let directory: String
        let port: Int

        func createDatabase(_ name: String) async throws {
            _ = try await Shell.run(bin + "/psql", psqlArguments(database: "postgres") + ["-c", "CREATE DATABASE \(name)"])
        }

        func psql(database: String, _ sql: String) async throws -> String {
            try await Shell.run(bin + "/psql", psqlArguments(database: database) + ["-At", "-c", sql])
        }

        private func psqlArguments(database: String) -> [String] {
            ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-q"]
        }
    }

    private var start: Task<Running, any Error>?

    func started() async throws -> Running {
        if let start { return try await start.value }
        let task = Task { try await Self.boot() }
        start = task
        return try await task.value
    }

    /// initdb, pg_ctl start (retried on another port if the one picked was taken meanwhile), stop at exit.
    private static func boot() async throws -> Running {
        let bin = try binDirectory()
        removeStaleServers(bin: bin)
        var template = Array("\(FileManager.default.temporaryDirectory.path)/\(stalePrefix)XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestPostgresError(description: "mkdtemp failed: \(errno)") }
        let directory = String(cString: made)
        try String(getpid()).write(toFile: directory + "/owner.pid", atomically: true, encoding: .utf8)
        if getuid() == 0 {
            guard let pw = getpwnam("postgres") else {
                throw TestPostgresError(description: "no `postgres` user: install postgresql-15 (`make deps`)")
            }
            // PostgreSQL refuses to run as root; the directory is root's (0700) until given away.
            chown(directory, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        _ = try await Shell.run(bin + "/initdb", ["-D", directory + "/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                                 "--locale=C.UTF-8", "--no-sync"], asPostgres: true, in: directory)
        serverDirectory = directory
        serverBin = bin
        atexit { TestPostgresServer.stopAtExit() }
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freePort()
            // fsync off: these clusters are thrown away; no test here crashes PostgreSQL itself.
            let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=300 "
                + "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            do {
                _ = try await Shell.run(bin + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-w",
                                                         "-t", "60", "-o", options, "start"], asPostgres: true, in: directory)
                return Running(bin: bin, directory: directory, port: port)
            } catch {
                lastError = error
            }
        }
        let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        throw TestPostgresError(description: "pg_ctl start failed 5 times: \(lastError.map { "\($0)" } ?? "")\n\(log)")
    }

    static let stalePrefix = "abm-pg-test."
    nonisolated(unsafe) private static var serverDirectory: String?
    nonisolated(unsafe) private static var serverBin: String?

    /// At exit: stop the server (immediate: its data is thrown away) and delete it.
    private static func stopAtExit() {
        guard let directory = serverDirectory, let bin = serverBin else { return }
        stop(bin: bin, directory: directory)
    }

    private static func stop(bin: String, directory: String) {
        _ = try? Shell.runBlocking(bin + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"],
                                   asPostgres: true, in: "/")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Servers left by a test process that was killed (its pid is gone) are stopped and deleted.
    private static func removeStaleServers(bin: String) {
        let tmp = FileManager.default.temporaryDirectory.path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix(stalePrefix) {
            let directory = tmp + "/" + name
            guard let text = try? String(contentsOfFile: directory + "/owner.pid", encoding: .utf8),
                  let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            stop(bin: bin, directory: directory)
        }
    }

    /// The newest installed server's binaries (Debian keeps them off PATH).
    private static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted()
        guard let version = versions.last(where: { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/initdb") }) else {
            throw TestPostgresError(description: "no PostgreSQL server in \(root): `apt-get install -y postgresql-15` (`make deps` does it)")
        }
        return "\(root)/\(version)/bin"
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestPostgresError(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        guard bound else { throw TestPostgresError(description: "bind to a free port: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs the PostgreSQL tools as child processes (`ChildProcess`: posix_spawn, every descriptor above 2
/// closed, so the server that `pg_ctl start` leaves running holds nothing of the test process).
enum Shell {
    static func run(_ tool: String, _ arguments: [String], asPostgres: Bool = false, in directory: String? = nil) async throws -> String {
        let child = try spawn(tool, arguments, asPostgres: asPostgres, in: directory)
        return try check(child, await child.child.wait())
    }

    /// The same, waiting on the calling thread (the `atexit` handler cannot await).
    static func runBlocking(_ tool: String, _ arguments: [String], asPostgres: Bool = false, in directory: String? = nil) throws -> String {
        let child = try spawn(tool, arguments, asPostgres: asPostgres, in: directory)
        return try check(child, child.child.waitBlocking())
    }

    private static func spawn(_ tool: String, _ arguments: [String], asPostgres: Bool, in directory: String?) throws -> Spawned {
        var argv = [tool] + arguments
        if asPostgres && getuid() == 0 { argv = ["/usr/sbin/runuser", "-u", "postgres", "--"] + argv }
        // Output (both streams) goes to a file read after the exit: nothing can block on a full pipe.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("abm-pg-out-\(UUID().uuidString)").path
        // A stale PGHOST/PGDATABASE in the environment must not redirect the tools.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        do {
            // The postgres user cannot read root's working directory (initdb warns otherwise).
            let child = try ChildProcess(argv[0], Array(argv.dropFirst()), environment: environment, directory: directory,
                                         standardOutput: .file(output), standardError: .standardOutput)
            return Spawned(child: child, command: argv.joined(separator: " "), outputPath: output)
        } catch {
            throw TestPostgresError(description: "\(error)")
        }
    }

    struct Spawned {
        let child: ChildProcess
        let command: String
        let outputPath: String
    }

    private static func check(_ spawned: Spawned, _ ending: ChildProcess.Ending) throws -> String {
        let output = (try? String(contentsOfFile: spawned.outputPath, encoding: .utf8)) ?? ""
        unlink(spawned.outputPath)
        guard ending == .exit(0) else {
            throw TestPostgresError(description: "\(spawned.command) failed (\(ending)): \(output)")
        }
        return output
    }
}
