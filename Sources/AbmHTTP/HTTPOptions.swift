/// Where the operators' HTTP endpoint listens (`abm serve --http HOST:PORT`).
public struct HTTPOptions: Sendable, Equatable {
    /// An IP address or host name. Default loopback: the endpoint has no authentication and its dashboard
    /// can pause and cancel campaigns.
    public var host: String
    /// 0 picks a free port (tests); `OperatorHTTPServer.port()` tells which.
    public var port: Int

    public static let defaultPort = 5573

    public init(host: String = "127.0.0.1", port: Int = HTTPOptions.defaultPort) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback). Throws `HTTPOptionsError` naming what is wrong.
    public init(parsing text: String) throws(HTTPOptionsError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw HTTPOptionsError(message: "`\(text)` is not HOST:PORT (e.g. 127.0.0.1:5573)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw HTTPOptionsError(message: "`\(text)`: the port must be a number in 0…65535")
        }
        self.init(host: host, port: port)
    }

    /// Whether `host` is a loopback address (binding anything else needs `--insecure`).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

public struct HTTPOptionsError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
