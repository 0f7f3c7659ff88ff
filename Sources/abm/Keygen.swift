import AbmWire
import ArgumentParser
import CampaignCore
import CampaignGateway
import Foundation
import ZeroMQ

/// `abm keygen NAME`: a CURVE key pair for a server or a client.
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub (public).",
        discussion: """
        A server is given its NAME.key (`abm serve --curve-secret-key`) and hands out NAME.pub \
        (`--server-key`). A client keeps its NAME.key (`--key`) and the server's operator adds its \
        NAME.pub line to an allow-list (`--allow-producers`, `--allow-operators`, `--allow-subscribers`). \
        Existing files are never overwritten.
        """)

    @Argument(help: "Path prefix of the two files, e.g. keys/producer-1.") var name: String
    @Flag(help: "Print {\"public_key\":…,\"secret_key_file\":…,\"public_key_file\":…} instead of the public key.")
    var json = false

    func run() throws {
        let secretPath = name + ".key", publicPath = name + ".pub"
        for path in [secretPath, publicPath] where FileManager.default.fileExists(atPath: path) {
            printError("abm: bad_input: \(path) exists; not overwriting a key")
            throw ExitCode(2)
        }
        let pair = try CurveKeyPair.generate()
        let label = URL(fileURLWithPath: name).lastPathComponent
        // The secret file is created 0600 from the start (O_EXCL), never readable by others even briefly.
        try write(secretPath, CurveKeyFile.render(pair.secretKey, comment: "abm CURVE secret key \(label): keep private"
                                                   + " (public key \(pair.publicKey.z85))"), mode: 0o600)
        try write(publicPath, CurveKeyFile.render(pair.publicKey, comment: "abm CURVE public key \(label)"), mode: 0o644)
        if json {
            printJSON(["public_key": .string(pair.publicKey.z85), "secret_key_file": .string(secretPath),
                       "public_key_file": .string(publicPath)])
        } else {
            print(pair.publicKey.z85)
        }
    }

    private func write(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            printError("abm: bad_input: cannot create \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        defer { close(fd) }
        // The umask may have cleared bits of `mode`; the secret must end up exactly 0600.
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            printError("abm: bad_input: cannot write \(path): \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
    }
}
