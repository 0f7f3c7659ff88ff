import CampaignStore
import Foundation

/// Where and how `PostgresStore` connects. Built from a URL (`abm serve --store postgresql://…`) or field by
/// field. Defaults are documented on each field.
public struct PostgresStoreConfiguration: Sendable, Equatable {
    public var host: String
    /// Default 5432.
    public var port: Int
    public var username: String
    /// nil: trust or peer authentication (no password sent).
    public var password: String?
    public var database: String
    /// false (`?sslmode=disable`): plaintext. true (the default, as libpq's `prefer`): TLS when the server
    /// offers it, plaintext otherwise.
    public var preferTLS: Bool
    /// Pooled connections at most (default 8): one commit or read holds one for its duration.
    public var maximumConnections: Int
    /// Shown in `pg_stat_activity` (default `abm`); a cluster names its node here.
    public var applicationName: String
    /// `idle_in_transaction_session_timeout` of every connection (default 5 s): a process paused inside a
    /// write transaction cannot hold the event counter or a lease row longer than this
    /// (docs/operations.md "On PostgreSQL").
    public var idleInTransactionTimeout: Duration
    /// `statement_timeout` (default 30 s).
    public var statementTimeout: Duration
    /// How long opening a connection may take (default 10 s).
    public var connectTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres", password: String? = nil,
                database: String = "abm", preferTLS: Bool = true, maximumConnections: Int = 8,
                applicationName: String = "abm", idleInTransactionTimeout: Duration = .seconds(5),
                statementTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.preferTLS = preferTLS
        self.maximumConnections = maximumConnections
        self.applicationName = applicationName
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.statementTimeout = statementTimeout
        self.connectTimeout = connectTimeout
    }

    /// Whether `text` names a PostgreSQL store (`postgresql://` or `postgres://`).
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Parses `postgresql://user[:password]@host[:port]/database[?sslmode=disable|prefer]` (also `postgres://`).
    /// User, password and database are percent-decoded; an IPv6 host is written in brackets.
    /// - Throws: `StoreError` `store.bad_url` naming what is wrong.
    public init(url text: String) throws {
        func bad(_ why: String) -> StoreError {
            StoreError(code: "store.bad_url", message: "`\(Self.redacted(text))`: \(why)")
        }
        guard Self.isURL(text), let components = URLComponents(string: text) else {
            throw bad("expected postgresql://user@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        guard let user = components.user, !user.isEmpty else { throw bad("no user") }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else { throw bad("no database (…/DATABASE)") }
        self.init(host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host,
                  port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 },
                  database: path.removingPercentEncoding ?? path)
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"): preferTLS = false
            case ("sslmode", "prefer"): preferTLS = true
            case ("application_name", let name?) where !name.isEmpty: applicationName = name
            default: throw bad("unsupported parameter `\(item.name)=\(item.value ?? "")` (sslmode=disable|prefer, application_name)")
            }
        }
    }

    /// The URL without its password, for logs.
    public var redactedURL: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "postgresql://\(username)@\(host):\(port)/\(database)"
    }

    /// `text` with any password replaced by `***`, for error messages.
    static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? text
    }
}
