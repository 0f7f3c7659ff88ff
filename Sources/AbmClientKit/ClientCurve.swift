import AbmWire
import Foundation
import ZeroMQ

/// A client's CURVE material: the server's public key and the client's own key pair
/// (`--server-key Z85|FILE --key FILE`).
public struct ClientCurve: Sendable, Equatable {
    public var serverKey: CurveKey
    public var keyPair: CurveKeyPair

    public init(serverKey: CurveKey, keyPair: CurveKeyPair) {
        self.serverKey = serverKey
        self.keyPair = keyPair
    }

    /// From the command line: `serverKey` is the server's Z85 public key or a file holding it (`NAME.pub`),
    /// `keyFile` the client's secret key file (`NAME.key`; the public key is derived from it).
    public static func load(serverKey: String, keyFile: String) throws(AbmError) -> ClientCurve {
        do throws(SecurityError) {
            let server: CurveKey
            if serverKey.utf8.count == 40, !FileManager.default.fileExists(atPath: serverKey),
               let key = try? CurveKey(z85: serverKey) {
                server = key
            } else {
                server = try CurveKeyFile.readSingle(serverKey)
            }
            let secret = try CurveKeyFile.readSingle(keyFile)
            let pair: CurveKeyPair
            do { pair = try CurveKeyPair(secretKey: secret) } catch {
                throw SecurityError(code: SecurityError.badKeyFile, message: "not a CURVE secret key: \(error)", file: keyFile)
            }
            return ClientCurve(serverKey: server, keyPair: pair)
        } catch {
            throw .badInput(error.description)
        }
    }

    /// The options that make a DEALER or SUB a CURVE client of the server.
    public var socketOptions: [SocketOption] {
        [.curveServerKey(serverKey), .curvePublicKey(keyPair.publicKey), .curveSecretKey(keyPair.secretKey)]
    }
}
