import Foundation

/// A failure of the security set-up: a key file that cannot be read or parsed, CURVE settings that are
/// incomplete, a public bind without CURVE. `code` is stable; `file` and `line` name the culprit.
public struct SecurityError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The key or list file at fault, when there is one.
    public var file: String?
    /// The 1-based line of `file` at fault, when there is one.
    public var line: Int?

    public init(code: String, message: String, file: String? = nil, line: Int? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
    }

    /// A key or allow-list file that is unreadable or holds something other than Z85 keys.
    public static let badKeyFile = "bad_key_file"
    /// CURVE settings missing a part (a secret key without allow-lists, or the reverse).
    public static let incompleteCurve = "curve_incomplete"
    /// A non-loopback bind without CURVE and without `insecure`.
    public static let insecureBind = "insecure_bind"
    /// A socket could not be bound again after a reload removed keys (its endpoint is no longer served).
    public static let rebindFailed = "rebind_failed"

    public var description: String {
        let place = file.map { f in line.map { "\(f):\($0): " } ?? "\(f): " } ?? ""
        return "\(code): \(place)\(message)"
    }
}

/// Key files: one Z85 key (40 characters) a line; blank lines, `#` comment lines and a `# comment` after
/// the key are ignored. (`#` is itself a Z85 character, so a comment is recognised by position: a line
/// whose first word is not a key and that starts with `#`.) A secret key file (`NAME.key` from
/// `abm keygen`) holds exactly one key; an allow-list any number.
public enum CurveKeyFile {
    /// The keys of a file's text; `path` only names it in errors.
    public static func parse(_ text: String, path: String) throws(SecurityError) -> [CurveKey] {
        var keys: [CurveKey] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = words.first else { continue }
            if first.utf8.count == 40, let key = try? CurveKey(z85: String(first)) {
                guard words.count == 1 || words[1].hasPrefix("#") else {
                    throw SecurityError(code: SecurityError.badKeyFile, message: "text after the key that is not a # comment",
                                        file: path, line: index + 1)
                }
                keys.append(key)
            } else if !first.hasPrefix("#") {
                throw SecurityError(code: SecurityError.badKeyFile,
                                    message: "not a Z85 CURVE key (40 characters expected, got \(first.utf8.count))",
                                    file: path, line: index + 1)
            }
        }
        return keys
    }

    /// The keys in the file at `path`.
    public static func read(_ path: String) throws(SecurityError) -> [CurveKey] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SecurityError(code: SecurityError.badKeyFile, message: "cannot read: \(error.localizedDescription)", file: path)
        }
        return try parse(text, path: path)
    }

    /// The one key of a key file (a secret key, or a server's public key).
    public static func readSingle(_ path: String) throws(SecurityError) -> CurveKey {
        let keys = try read(path)
        guard keys.count == 1 else {
            throw SecurityError(code: SecurityError.badKeyFile, message: "must hold exactly one key, found \(keys.count)", file: path)
        }
        return keys[0]
    }

    /// The text of a key file: a comment saying what it is, then the key.
    public static func render(_ key: CurveKey, comment: String) -> String {
        "# \(comment)\n\(key.z85)\n"
    }
}
