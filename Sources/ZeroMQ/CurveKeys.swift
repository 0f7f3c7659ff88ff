import CZeroMQ

/// A 32-byte Curve25519 key (public or secret), convertible to and from its 40-character Z85 text.
public struct CurveKey: Sendable, Hashable, CustomStringConvertible {
    /// The raw 32 bytes.
    public let bytes: [UInt8]

    /// A key from its 32 raw bytes.
    public init(bytes: [UInt8]) throws(ZMQError) {
        guard bytes.count == 32 else {
            throw ZMQError(code: EINVAL, operation: "CurveKey", message: "a CURVE key has 32 bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// A key from its 40-character Z85 text.
    public init(z85: String) throws(ZMQError) {
        let decoded = try Z85.decode(z85)
        try self.init(bytes: decoded)
    }

    /// The 40-character Z85 text of the key.
    public var z85: String { Z85.encode(bytes)! }

    /// The Z85 text (a public key is not secret; do not log secret keys).
    public var description: String { z85 }
}

/// A CURVE long-term key pair.
public struct CurveKeyPair: Sendable, Hashable {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    /// Generates a new key pair (`zmq_curve_keypair`). Fails with `ENOTSUP` when libzmq lacks CURVE.
    public static func generate() throws(ZMQError) -> CurveKeyPair {
        var pub = [CChar](repeating: 0, count: 41)
        var sec = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&pub, &sec) != 0 { throw ZMQError.last("zmq_curve_keypair") }
        let p = String(decoding: pub.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let s = String(decoding: sec.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return CurveKeyPair(publicKey: try CurveKey(z85: p), secretKey: try CurveKey(z85: s))
    }

    /// The pair for an existing secret key (public key derived with `zmq_curve_public`).
    public init(secretKey: CurveKey) throws(ZMQError) {
        var pub = [CChar](repeating: 0, count: 41)
        let secText = Array(secretKey.z85.utf8CString)
        if zmq_curve_public(&pub, secText) != 0 { throw ZMQError.last("zmq_curve_public") }
        self.publicKey = try CurveKey(z85: String(decoding: pub.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        self.secretKey = secretKey
    }

    public init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// ZeroMQ's Z85 text encoding (RFC 32): 4 bytes ↔ 5 printable characters.
public enum Z85 {
    /// Encodes `bytes` (length a multiple of 4), or nil when the length is not.
    public static func encode(_ bytes: [UInt8]) -> String? {
        guard bytes.count % 4 == 0 else { return nil }
        var out = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        guard zmq_z85_encode(&out, bytes, bytes.count) != nil else { return nil }
        return String(decoding: out.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decodes Z85 text (length a multiple of 5).
    public static func decode(_ text: String) throws(ZMQError) -> [UInt8] {
        let chars = Array(text.utf8)
        guard chars.count % 5 == 0 else {
            throw ZMQError(code: EINVAL, operation: "Z85.decode", message: "Z85 text length must be a multiple of 5, got \(chars.count)")
        }
        var out = [UInt8](repeating: 0, count: chars.count * 4 / 5)
        let ok = text.withCString { zmq_z85_decode(&out, $0) != nil }
        guard ok else {
            throw ZMQError(code: EINVAL, operation: "Z85.decode", message: "not valid Z85 text")
        }
        return out
    }
}
