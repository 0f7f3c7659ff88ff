import AbmWire
import CampaignCore
import CampaignRuntime
import CampaignStore
import Foundation
import Logging

/// Everything `AbmServer.start` needs. Defaults: the protocol.s endpoints, an in-memory store, the wall
/// clock, the campaign defaults (docs/campaign-behaviour.md).
public struct ServerOptions: Sendable {
    /// Where to bind (`AbmEndpoints.ephemeral` for tests and tools).
    public var endpoints: AbmEndpoints
    /// The directory holding the SQLite file (`abm.sqlite`), created when missing. nil or `":memory:"`:
    /// an in-memory store (nothing survives the process).
    public var dataDirectory: String?
    /// A store the caller opens instead of the SQLite file of `dataDirectory` (`abm serve --store
    /// postgresql://…`): called once at start, after the sockets are bound; the server closes the store when it
    /// stops. nil: `dataDirectory` decides.
    public var openStore: (@Sendable () async throws -> any CampaignStorage)?
    /// The internal ROUTER other nodes of a cluster forward requests to (`abm serve --peer`), e.g.
    /// `tcp://10.0.0.5:5573`; nil (default) binds none: this node still forwards to peers that have one.
    public var peerEndpoint: String?
    /// `--virtual-clock`: a manual clock starting at this instant (or at the later stored clock time on
    /// existing data); `clock.advance` then works. nil: the wall clock.
    public var virtualClockStart: Date?
    /// The campaign configuration (docs/campaign-behaviour.md keys, templates included), when `playbooks`
    /// is nil.
    public var campaign: CampaignConfig
    /// The configured playbooks (name → partial `CampaignConfig` object), versioned in the store
    /// (`PlaybookRegistry`). nil: one playbook `default` with `campaign`, not versioned (embedded servers,
    /// tests). `abm serve` always sets it (`ServerConfigFile.playbookDefinitions`).
    public var playbooks: PlaybookRegistry.Definitions?
    /// Runtime tuning (max resident campaigns, commit batch, …); its `logger` is replaced by `logger`.
    public var runtime: RuntimeConfiguration
    public var logger: Logger
    /// Requests one client connection (ROUTER peer) may have in flight; past it its requests are refused
    /// with `rate_limited` (protocol §12) while other clients go on. Default 4,096.
    public var maxInFlightPerPeer: Int = 4096
    /// Request bytes per second one client connection may send on ingress, and again on control (a token
    /// bucket holding one second's worth, at least one largest message); past it its requests are refused
    /// with `rate_limited` while other clients go on. Default 128 MiB/s (well above what one connection of
    /// `abm bench` sends, so it bounds a flood without slowing a fast producer).
    public var maxBytesPerSecondPerPeer: Int = 128 << 20
    /// Replies libzmq queues for one peer (the ROUTERs' `ZMQ_SNDHWM`). A peer with this many unread
    /// replies does not read: further replies to it are dropped and its requests refused with
    /// `rate_limited` until it reads again. Well above `maxInFlightPerPeer`, so that a client that reads
    /// never reaches it. Default 16,384 (a few MiB per stuck peer).
    public var replyHighWaterMark: Int = 16_384
    /// How long a graceful stop (SIGTERM) may take to answer the requests already read (`--drain-timeout`).
    /// Past it, requests not yet answered are abandoned: never acknowledged, so their producers resend
    /// them (a resent request that was committed after all answers `duplicate`). Default 30 s.
    public var drainTimeout: Duration = .seconds(30)
    /// Events queued per subscriber (the PUB's `ZMQ_SNDHWM`); a subscriber further behind loses the newer
    /// events (it sees a gap in `seq` and replays them, protocol §8.3). Default 1,000.
    public var eventHighWaterMark: Int = 1000
    /// Events larger than this (topic + body, bytes) are not published live, only stored: a subscriber
    /// sees the gap and replays them. With `eventHighWaterMark` it bounds what one subscriber can hold in
    /// bytes. Default 16 KiB (ordinary events are 0.3–2 KiB).
    public var maxLiveEventBytes: Int = 16 * 1024
    /// CURVE on all three sockets, with a ZAP allow-list per socket (`--curve-secret-key`, `--allow-…`).
    /// nil: plaintext, allowed only when every endpoint is loopback (or `insecure`).
    public var curve: CurveServerSettings?
    /// `--insecure`: bind non-loopback endpoints without CURVE anyway.
    public var insecure = false

    public init(endpoints: AbmEndpoints = AbmEndpoints(), dataDirectory: String? = nil,
                virtualClockStart: Date? = nil, campaign: CampaignConfig = .default,
                runtime: RuntimeConfiguration = RuntimeConfiguration(), logger: Logger = Logger(label: "abm.server")) {
        self.endpoints = endpoints
        self.dataDirectory = dataDirectory
        self.virtualClockStart = virtualClockStart
        self.campaign = campaign
        self.runtime = runtime
        self.logger = logger
    }

    /// The SQLite file used for `dataDirectory`.
    public static let databaseFileName = "abm.sqlite"

    /// Whether `dataDirectory` means "no durable store".
    public var isInMemory: Bool { dataDirectory == nil || dataDirectory == ":memory:" }
}

/// A server configuration file (JSON). Every key is optional; command-line flags win over the file.
///
/// ```json
/// {
///   "campaign": { "max_touchpoints": 5, "templates": { … } },        // CampaignConfig keys (docs/campaign-behaviour.md)
///   "playbooks": { "renewal": { "max_touchpoints": 3 } },            // more playbooks: keys over `campaign`'s
///   "runtime": { "max_resident_campaigns": 100000, "idle_passivation_seconds": 30, "max_commit_batch": 1000,
///                "timer_concurrency": 512 },
///   "endpoints": { "ingress": "tcp://127.0.0.1:5570", "control": "…", "events": "…" },
///   "data_dir": "./abm-data",
///   "virtual_clock": "2026-03-02T09:00:00Z",
///   "log_level": "info",
///   "log_format": "logfmt",
///   "curve": { "secret_key": "server.key", "allow_producers": "producers.list",
///              "allow_operators": "operators.list", "allow_subscribers": "subscribers.list" },
///   "insecure": false,
///   "http": "127.0.0.1:5573",                                        // as --http
///   "retention": { "events_days": 365, "request_ids_days": 30, "interval_seconds": 3600 }
/// }
/// ```
/// An unknown key or a wrong value is an error naming the key (`invalid_config`).
public struct ServerConfigFile: Sendable {
    public var campaign: CampaignConfig?
    /// `campaign` as written (the `default` playbook's definition).
    public var campaignDefinition: JSONValue?
    /// `playbooks` as written: name → the keys it sets over `campaign`'s.
    public var playbooks: [String: JSONValue]?
    public var maxResidentCampaigns: Int?
    /// `runtime.idle_passivation_seconds`: the idle sweep interval (0 = never passivate idle campaigns).
    public var idleSweepInterval: Int?
    public var maxCommitBatch: Int?
    public var timerConcurrency: Int?
    public var ingress: String?
    public var control: String?
    public var events: String?
    public var dataDirectory: String?
    public var virtualClock: Date?
    public var logLevel: Logger.Level?
    /// `log_format`: `logfmt` or `json` (the executable sets up logging; `--log-format` wins).
    public var logFormat: LogFormat?
    /// `curve.secret_key`, `curve.allow_producers`, … (all four or none).
    public var curve: CurveServerSettings?
    public var insecure: Bool?
    /// `http`: where to serve /metrics, /healthz, /readyz and the dashboard (`--http` wins).
    public var http: String?
    /// `retention.events_days`, `.request_ids_days` (0 or null: keep forever), `.interval_seconds`.
    public var retention: RetentionPolicy?

    public init() {}

    /// Reads and validates a file.
    public init(contentsOf path: String) throws(AbmError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw AbmError(code: ErrorCode.invalidConfig, message: "cannot read \(path): \(error.localizedDescription)")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data), limits: JSONLimits(maxDepth: 64, maxStringBytes: 1 << 20)) } catch {
            throw AbmError(code: ErrorCode.invalidConfig, message: "\(path) is not valid JSON: \(error)")
        }
        try self.init(json: value)
    }

    public init(json: JSONValue) throws(AbmError) {
        self.init()
        guard let object = json.objectValue else { throw Self.bad("(root)", "must be a JSON object") }
        for (key, value) in object {
            switch key {
            case "campaign":
                campaign = try CampaignConfig(merging: value)
                campaignDefinition = value
            case "playbooks":
                guard let o = value.objectValue else { throw Self.bad("playbooks", "must be an object name → campaign keys") }
                for (name, definition) in o {
                    guard PlaybookRef.isValidName(name) else {
                        throw Self.bad("playbooks.\(name.prefix(64))", "a playbook name is 1 to 64 letters, digits, _ or -")
                    }
                    guard definition.objectValue != nil else { throw Self.bad("playbooks.\(name)", "must be an object of campaign keys") }
                }
                playbooks = o
            case "runtime":
                guard let r = value.objectValue else { throw Self.bad("runtime", "must be an object") }
                for (k, v) in r {
                    switch k {
                    case "max_resident_campaigns": maxResidentCampaigns = try Self.positive(v, "runtime.\(k)")
                    case "idle_passivation_seconds":
                        guard case .int(let n) = v, n >= 0 else { throw Self.bad("runtime.\(k)", "must be an integer ≥ 0") }
                        idleSweepInterval = Int(n)
                    case "max_commit_batch": maxCommitBatch = try Self.positive(v, "runtime.\(k)")
                    case "timer_concurrency": timerConcurrency = try Self.positive(v, "runtime.\(k)")
                    default: throw Self.bad("runtime.\(k)", "unknown key")
                    }
                }
            case "endpoints":
                guard let e = value.objectValue else { throw Self.bad("endpoints", "must be an object") }
                for (k, v) in e {
                    guard let s = v.stringValue, !s.isEmpty else { throw Self.bad("endpoints.\(k)", "must be a non-empty string") }
                    switch k {
                    case "ingress": ingress = s
                    case "control": control = s
                    case "events": events = s
                    default: throw Self.bad("endpoints.\(k)", "unknown key")
                    }
                }
            case "data_dir":
                guard let s = value.stringValue, !s.isEmpty else { throw Self.bad(key, "must be a non-empty string") }
                dataDirectory = s
            case "virtual_clock":
                guard let s = value.stringValue, let d = WireTime.parse(s) else { throw Self.bad(key, "must be an RFC 3339 instant") }
                virtualClock = d
            case "log_level":
                guard let s = value.stringValue, let l = Logger.Level(rawValue: s) else {
                    throw Self.bad(key, "must be one of trace, debug, info, notice, warning, error, critical")
                }
                logLevel = l
            case "log_format":
                guard let s = value.stringValue, let f = LogFormat(rawValue: s) else {
                    throw Self.bad(key, "must be one of logfmt, json")
                }
                logFormat = f
            case "curve":
                curve = try Self.curve(value)
            case "insecure":
                guard case .bool(let b) = value else { throw Self.bad(key, "must be true or false") }
                insecure = b
            case "http":
                guard let s = value.stringValue, !s.isEmpty else { throw Self.bad(key, "must be HOST:PORT") }
                http = s
            case "retention":
                retention = try Self.retention(value)
            default:
                throw Self.bad(key, "unknown key")
            }
        }
        playbookDefinitions = try definitions()
    }

    private static func retention(_ value: JSONValue) throws(AbmError) -> RetentionPolicy {
        guard let object = value.objectValue else { throw bad("retention", "must be an object") }
        var policy = RetentionPolicy()
        for (k, v) in object {
            switch k {
            case "events_days": policy.events = try days(v, "retention.\(k)")
            case "request_ids_days": policy.requestIds = try days(v, "retention.\(k)")
            case "interval_seconds": policy.interval = TimeInterval(try positive(v, "retention.\(k)"))
            default: throw bad("retention.\(k)", "unknown key")
            }
        }
        return policy
    }

    /// A retention age in days: a number ≥ 0 (fractions allowed); 0 or null keeps forever (nil).
    public static func days(_ v: JSONValue, _ key: String) throws(AbmError) -> TimeInterval? {
        let d: Double
        switch v {
        case .null: return nil
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw bad(key, "must be a number of days ≥ 0 (0 or null: keep forever)")
        }
        guard d.isFinite, d >= 0, d <= 36_500 else { throw bad(key, "must be a number of days in 0…36500 (0: keep forever)") }
        return d == 0 ? nil : d * 86_400
    }

    private static func curve(_ value: JSONValue) throws(AbmError) -> CurveServerSettings {
        guard let object = value.objectValue else { throw bad("curve", "must be an object") }
        var files: [String: String] = [:]
        let names = ["secret_key", "allow_producers", "allow_operators", "allow_subscribers"]
        for (k, v) in object {
            guard names.contains(k) else { throw bad("curve.\(k)", "unknown key") }
            guard let s = v.stringValue, !s.isEmpty else { throw bad("curve.\(k)", "must be a non-empty file path") }
            files[k] = s
        }
        for name in names where files[name] == nil {
            throw bad("curve.\(name)", "missing: CURVE needs the secret key and all three allow-lists")
        }
        return CurveServerSettings(secretKeyFile: files["secret_key"]!, producersFile: files["allow_producers"]!,
                                   operatorsFile: files["allow_operators"]!, subscribersFile: files["allow_subscribers"]!)
    }

    /// Each playbook's definition: `default` is `campaign` (or the defaults), and every playbook in
    /// `playbooks` is `campaign` with its own keys over it (a key it sets replaces `campaign`'s whole value).
    /// Checked when the file is read.
    public var playbookDefinitions: PlaybookRegistry.Definitions = [PlaybookRef.defaultName: .object([:])]

    private func definitions() throws(AbmError) -> PlaybookRegistry.Definitions {
        let base = campaignDefinition?.objectValue ?? [:]
        var out: PlaybookRegistry.Definitions = [PlaybookRef.defaultName: .object(base)]
        for (name, definition) in playbooks ?? [:] {
            let merged = JSONValue.object(base.merging(definition.objectValue ?? [:]) { _, own in own })
            do throws(AbmError) {
                _ = try CampaignConfig(merging: merged)
            } catch {
                let field = "playbooks.\(name).\(error.field ?? "")"
                throw AbmError(code: ErrorCode.invalidConfig, message: "playbooks.\(name).\(error.message)", field: field)
            }
            out[name] = merged
        }
        return out
    }

    /// Applies the file over `options` (the caller then applies command-line flags over the result).
    public func apply(to options: inout ServerOptions) {
        if let campaign { options.campaign = campaign }
        options.playbooks = playbookDefinitions
        if let maxResidentCampaigns { options.runtime.maxResidentCampaigns = maxResidentCampaigns }
        if let idleSweepInterval { options.runtime.idleSweepInterval = idleSweepInterval == 0 ? nil : TimeInterval(idleSweepInterval) }
        if let maxCommitBatch { options.runtime.maxCommitBatch = maxCommitBatch }
        if let timerConcurrency { options.runtime.timerConcurrency = timerConcurrency }
        if let ingress { options.endpoints.ingress = ingress }
        if let control { options.endpoints.control = control }
        if let events { options.endpoints.events = events }
        if let dataDirectory { options.dataDirectory = dataDirectory }
        if let virtualClock { options.virtualClockStart = virtualClock }
        if let logLevel { options.logger.logLevel = logLevel }
        if let curve { options.curve = curve }
        if let insecure { options.insecure = insecure }
        if let retention { options.runtime.retention = retention }
    }

    private static func bad(_ key: String, _ why: String) -> AbmError {
        AbmError(code: ErrorCode.invalidConfig, message: "\(key): \(why)", field: key)
    }

    private static func positive(_ v: JSONValue, _ key: String) throws(AbmError) -> Int {
        guard case .int(let i) = v, i >= 1, i <= Int64(Int32.max) else { throw bad(key, "must be an integer ≥ 1") }
        return Int(i)
    }
}
