import AbmWire
import CampaignCore
import AbmClientKit
import ArgumentParser
import Foundation

/// Endpoints and timeout shared by every client command (defaults: protocols/abm-wire-v1.md §2, or the environment
/// variables `ABM_INGRESS`, `ABM_CONTROL`, `ABM_EVENTS`).
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Ingress endpoint (ROUTER of the server).")
    var ingress: String = ProcessInfo.processInfo.environment["ABM_INGRESS"] ?? AbmEndpoints.defaultIngress

    @Option(help: "Control endpoint (ROUTER of the server).")
    var control: String = ProcessInfo.processInfo.environment["ABM_CONTROL"] ?? AbmEndpoints.defaultControl

    @Option(help: "Events endpoint (PUB of the server).")
    var events: String = ProcessInfo.processInfo.environment["ABM_EVENTS"] ?? AbmEndpoints.defaultEvents

    @Option(help: "Seconds to wait for a reply before giving up (exit status 3).")
    var timeout: Double = 5

    @Option(name: .customLong("server-key"), help: ArgumentHelp(
        "The server's CURVE public key: Z85 text (as --server-key=KEY: a key may start with -) or a file (NAME.pub); with --key. Default: $ABM_SERVER_KEY.",
        valueName: "Z85|FILE"))
    var serverKeyFlag: String?

    @Option(name: .customLong("key"), help: ArgumentHelp("This client's CURVE secret key file (NAME.key from `abm keygen`). Default: $ABM_KEY.",
                               valueName: "FILE"))
    var keyFlag: String?

    // Optional options cannot have defaults in ArgumentParser: the environment is read here instead.
    var serverKey: String? { serverKeyFlag ?? ProcessInfo.processInfo.environment["ABM_SERVER_KEY"] }
    var key: String? { keyFlag ?? ProcessInfo.processInfo.environment["ABM_KEY"] }

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600] seconds") }
        if (serverKey == nil) != (key == nil) {
            throw ValidationError("--server-key and --key go together (a CURVE client needs the server's public key and its own secret key)")
        }
    }

    var endpoints: AbmEndpoints { AbmEndpoints(ingress: ingress, control: control, events: events) }

    /// `minimumTimeout`: seconds a command that can run long waits at least, whatever `--timeout` says.
    func client(minimumTimeout: Double = 0) throws(AbmError) -> AbmClient {
        var curve: ClientCurve?
        if let serverKey, let key { curve = try ClientCurve.load(serverKey: serverKey, keyFile: key) }
        return try AbmClient(endpoints: endpoints, timeoutMilliseconds: Int(max(timeout, minimumTimeout) * 1000), curve: curve)
    }
}

/// Runs a client command body: an `AbmError` is printed to stderr as `abm: <code>: <message>` and
/// becomes the process's exit status. With `json`, an error that no server reply explains (a timeout, bad
/// input, a socket error) is also printed on stdout as `{"ok":false,"error":{"code":…,"message":…}}`, so
/// that a script reading stdout always gets one JSON document.
func runReportingErrors(json: Bool = false, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as AbmError {
        if json && error.exitCode != 1 {  // 1: the server refused; its reply, already printed, says why
            var detail: [String: JSONValue] = ["code": .string(error.code.rawValue), "message": .string(error.message)]
            if let field = error.field { detail["field"] = .string(field) }
            printJSON(["ok": false, "error": .object(detail)])
        }
        printError("abm: \(error)")
        throw ExitCode(error.exitCode)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Reads a JSON document from a file, or from stdin for `-` (or no argument when stdin is not a terminal).
func readJSONInput(_ path: String?) throws(AbmError) -> (bytes: [UInt8], source: String) {
    if path == nil || path == "-" {
        if path == nil && isatty(STDIN_FILENO) != 0 {
            throw .badInput("give a FILE, or - and the JSON on stdin")
        }
        return ([UInt8](FileHandle.standardInput.readDataToEndOfFile()), "stdin")
    }
    let file = path!
    guard let data = FileManager.default.contents(atPath: file) else {
        throw .badInput("cannot read \(file)")
    }
    return ([UInt8](data), file)
}

/// Prints a JSON value compactly, one line.
func printJSON(_ value: JSONValue) {
    print(String(decoding: Requests.encode(value), as: UTF8.self))
}
