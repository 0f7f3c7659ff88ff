import AbmWire
import CampaignCore
import CampaignGateway
import CampaignReport
import CampaignRuntime
import CampaignStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import NIOConcurrencyHelpers

/// The operators' HTTP endpoint of one `AbmServer`: `/metrics` (Prometheus), `/healthz`, `/readyz`, and
/// the live dashboard (`/`) with its JSON API and event stream. A ServiceLifecycle `Service`: `run()`
/// serves until graceful shutdown or cancellation.
///
/// Routes (all GET unless said):
/// - `/metrics`: Prometheus text format (`MetricsExporter`).
/// - `/healthz`: 200 `ok` while the process serves HTTP.
/// - `/readyz`: 200 `ready` when the runtime takes requests (`CampaignRuntime.readiness()`), else 503 with why.
/// - `/`: the dashboard page.
/// - `/api/stats`: `stats`'s fields (protocol §7.8).
/// - `/api/campaigns?status=&parked=&account=&after=&limit=`: `list` (§7.7), `account` is the id prefix.
/// - `/api/campaign?account=ID`: the campaign object (§7.3) with `parked`.
/// - `/api/timeline?account=ID`: the account's report section (SVG timeline and events), HTML.
/// - POST `/api/command?account=ID&action=pause|resume|cancel|retry`: the operator command; needs the
///   header `X-ABM-Dashboard: 1`, which a page of another origin cannot send without a CORS preflight
///   (never answered), so that another site cannot drive the buttons.
/// - `/api/recent?limit=N`: the last N committed events (1…200, default 30), oldest first.
/// - `/api/events`: server-sent events, one `data:` line per committed event (its published JSON body).
public final class OperatorHTTPServer: Service, Sendable {
    public let options: HTTPOptions
    private let server: AbmServer
    private let exporter: MetricsExporter
    private let logger: Logger
    private let bound = NIOLockedValueBox<(port: Int?, waiters: [CheckedContinuation<Int?, Never>])>((nil, []))

    /// - Parameter exporter: the one whose `factory` the server's runtime records into.
    public init(options: HTTPOptions, server: AbmServer, exporter: MetricsExporter, logger: Logger) {
        self.options = options
        self.server = server
        self.exporter = exporter
        self.logger = logger
    }

    /// The port actually bound, once listening (nil when `run()` ended without binding).
    public func port() async -> Int? {
        await withCheckedContinuation { c in
            let known: Int?? = bound.withLockedValue { b in
                if let port = b.port { return .some(port) }
                b.waiters.append(c)
                return .none
            }
            if let known { c.resume(returning: known) }
        }
    }

    private func resolvePort(_ port: Int?) {
        let waiters = bound.withLockedValue { b in
            if port != nil { b.port = port }
            defer { b.waiters = [] }
            return b.waiters
        }
        for w in waiters { w.resume(returning: port) }
    }

    /// Runs in a `ServiceGroup` of its own (for `abm serve`, until ops composes the whole server as
    /// services); returns once listening.
    /// - Throws: the bind error when it cannot listen.
    public func start() async throws -> Running {
        let group = ServiceGroup(configuration: .init(services: [self], logger: logger))
        let task = Task { try await group.run() }
        guard let port = await port() else {
            try await task.value
            throw HTTPOptionsError(message: "the HTTP server stopped before listening")
        }
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        return Running(url: "http://\(host):\(port)/", port: port, group: group, task: task)
    }

    /// A server started by `start()`.
    public struct Running: Sendable {
        /// `http://HOST:PORT/`, the port as bound.
        public let url: String
        public let port: Int
        let group: ServiceGroup
        let task: Task<Void, any Error>

        /// Graceful: open event streams end, requests in progress finish, then the listener closes.
        public func stop() async {
            await group.triggerGracefulShutdown()
            _ = await task.result
        }
    }

    public func run() async throws {
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "abm"),
            onServerRunning: { [weak self] channel in self?.resolvePort(channel.localAddress?.port) },
            logger: logger)
        defer { resolvePort(nil) }
        let liveEvents = server.liveEvents
        // Event streams never end by themselves: on graceful shutdown they are ended, so that the server
        // can finish its open requests and close.
        try await withGracefulShutdownHandler {
            try await app.run()
        } onGracefulShutdown: {
            liveEvents.finish()
        }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let runtime = server.runtime
        let exporter = self.exporter
        let liveEvents = server.liveEvents
        let store = server.store
        router.get("/healthz") { _, _ in Self.text("ok\n") }
        router.get("/readyz") { _, _ in
            switch await runtime.readiness() {
            case .ready: return Self.text("ready\n")
            case .notReady(let why): return Self.text("not ready: \(why)\n", status: .serviceUnavailable)
            }
        }
        router.get("/metrics") { _, _ in
            Self.text(await exporter.scrape(runtime), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/") { _, _ in
            var page = Self.text(DashboardPage.html, contentType: "text/html; charset=utf-8")
            // The page has buttons that act: no framing by another site (clickjacking).
            page.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
            page.headers[HTTPField.Name("Content-Security-Policy")!] = "frame-ancestors 'none'"
            return page
        }
        router.get("/api/stats") { _, _ in
            do { return Self.json(.object(ControlReply.statsFields(try await runtime.campaignStats()))) } catch {
                return Self.failure(error)
            }
        }
        router.get("/api/campaigns") { request, _ in
            let q = request.uri.queryParameters
            var filter = CampaignFilter()
            if let s = q["status"].map(String.init), !s.isEmpty {
                guard let status = CampaignStatus(rawValue: s) else {
                    return Self.failure(code: "invalid_field", "status must be one of active, paused, completed, cancelled", field: "status")
                }
                filter.status = status
            }
            switch q["parked"].map(String.init) {
            case nil, "": break
            case "true": filter.parked = true
            case "false": filter.parked = false
            default: return Self.failure(code: "invalid_field", "parked must be true or false", field: "parked")
            }
            if let prefix = q["account"].map(String.init), !prefix.isEmpty { filter.accountPrefix = prefix }
            if let after = q["after"].map(String.init), !after.isEmpty { filter.after = after }
            if let limit = q["limit"] {
                guard let n = Int(limit) else { return Self.failure(code: "invalid_field", "limit must be an integer", field: "limit") }
                filter.limit = n
            }
            do {
                let listing = try await runtime.campaigns(filter)
                return Self.json(["campaigns": .array(listing.items.map(ControlReply.listItem)),
                                  "next": listing.next.map(JSONValue.string) ?? .null])
            } catch {
                return Self.failure(error)
            }
        }
        router.get("/api/campaign") { request, _ in
            guard let account = Self.account(request) else { return Self.missingAccount }
            guard let campaign = await runtime.status(accountId: account), campaign["campaign_id"] != nil else {
                return Self.failure(code: "not_found", "account `\(account)` has no campaign", field: "account", status: .notFound)
            }
            var object = campaign.objectValue ?? [:]
            if object["parked"] == nil { object["parked"] = false }
            return Self.json(.object(object))
        }
        router.get("/api/explain") { request, _ in
            guard let account = Self.account(request) else { return Self.missingAccount }
            do {
                guard let explanation = try await runtime.explain(accountId: account) else {
                    return Self.failure(code: "not_found", "account `\(account)` has no campaign", field: "account", status: .notFound)
                }
                var out = explanation.objectValue ?? [:]
                // The next touch as it would go out (nothing stored), shown under the decisions.
                if case .success(let preview)? = try? await runtime.preview(accountId: account, lead: nil) { out["preview"] = preview }
                return Self.json(.object(out))
            } catch {
                return Self.failure(error)
            }
        }
        router.get("/api/timeline") { request, _ in
            guard let account = Self.account(request) else { return Self.missingAccount }
            do {
                let events = try await runtime.history(accountId: account).compactMap { stored in
                    (try? JSONParser.parse([UInt8](stored.body))).flatMap(TimelineEvent.init(json:))
                }
                let campaign = await runtime.status(accountId: account).flatMap(CampaignSummary.init(campaign:))
                return Self.text(HTMLReport.accountSection(events, now: runtime.clock.now, campaign: campaign),
                                 contentType: "text/html; charset=utf-8")
            } catch {
                return Self.failure(error)
            }
        }
        router.post("/api/command") { request, _ in
            guard request.headers[HTTPField.Name("X-ABM-Dashboard")!] == "1" else {
                return Self.failure(code: "forbidden", "commands need the header X-ABM-Dashboard: 1", field: nil, status: .forbidden)
            }
            guard let account = Self.account(request) else { return Self.missingAccount }
            let action = request.uri.queryParameters["action"].map(String.init) ?? ""
            let command: CampaignCommand
            switch action {
            case "pause": command = .pause(reason: "paused from the dashboard")
            case "resume": command = .resume
            case "cancel": command = .cancel
            case "step": command = .step
            case "retry":
                let wasParked = await runtime.retry(accountId: account)
                return Self.json(["ok": .bool(wasParked), "retried": .bool(wasParked)])
            default:
                return Self.failure(code: "invalid_field", "action must be pause, resume, cancel, step or retry", field: "action")
            }
            let reply = await runtime.command(requestId: "dashboard-" + UUID().uuidString.lowercased(), accountId: account, command)
            if reply.ok { return Self.json(["ok": true, "campaign": reply.campaign ?? .null]) }
            let error = reply.error
            return Self.failure(code: error?.code.rawValue ?? "internal", error?.message ?? "refused", field: error?.field,
                                status: error?.code == "not_found" ? .notFound : .conflict)
        }
        router.get("/api/playbooks") { _, _ in
            do {
                return Self.json(["playbooks": try await runtime.playbookList()])
            } catch {
                return Self.failure(error)
            }
        }
        router.post("/api/migrate") { request, _ in
            guard request.headers[HTTPField.Name("X-ABM-Dashboard")!] == "1" else {
                return Self.failure(code: "forbidden", "commands need the header X-ABM-Dashboard: 1", field: nil, status: .forbidden)
            }
            let q = request.uri.queryParameters
            guard let playbook = q["playbook"].map(String.init), !playbook.isEmpty else {
                return Self.failure(code: "missing_field", "the query parameter playbook is required", field: "playbook")
            }
            guard let version = q["to"].flatMap({ Int($0) }), version >= 1 else {
                return Self.failure(code: "invalid_field", "to must be a version number ≥ 1", field: "to_version")
            }
            do {
                let r = try await runtime.migrate(playbook: playbook, toVersion: version)
                return Self.json(["ok": true, "migrated": ["playbook": .string(r.playbook), "to_version": .int(Int64(r.toVersion)),
                                                           "campaigns": .int(Int64(r.campaigns))]])
            } catch let e as AbmError where e.code == ErrorCode.notFound {
                return Self.failure(code: e.code.rawValue, e.message, field: e.field, status: .notFound)
            } catch {
                return Self.failure(error)
            }
        }
        router.get("/api/recent") { request, _ in
            let limit = request.uri.queryParameters["limit"].flatMap { Int($0) }.map { min(max($0, 1), 200) } ?? 30
            do {
                let last = try await store.lastSeq()
                // Not from below what retention kept (that replay is refused).
                let from = max(try await runtime.prunedSeq(), last - Int64(limit))
                let events = try await runtime.events(afterSeq: max(0, from), limit: limit)
                return Self.text("[" + events.map { String(decoding: $0.body, as: UTF8.self) }.joined(separator: ",") + "]",
                                 contentType: "application/json")
            } catch {
                return Self.failure(error)
            }
        }
        router.get("/api/events") { _, _ in
            let stream = liveEvents.watch()
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                // A comment line first, so that the browser's EventSource opens at once.
                try await writer.write(ByteBuffer(string: ": abm events\n\n"))
                for await event in stream {
                    var line = "id: \(event.seq)\ndata: "
                    line += String(decoding: event.body, as: UTF8.self)
                    line += "\n\n"
                    try await writer.write(ByteBuffer(string: line))
                }
                try await writer.finish(nil)
            })
        }
        return router
    }

    // MARK: - Responses

    static func account(_ request: Request) -> String? {
        guard let account = request.uri.queryParameters["account"], !account.isEmpty else { return nil }
        return String(account)
    }

    static var missingAccount: Response {
        failure(code: "missing_field", "the query parameter account is required", field: "account")
    }

    static func text(_ body: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        text(String(decoding: JSONWriter.encode(value), as: UTF8.self), status: status, contentType: "application/json")
    }

    /// `{"error":{"code","message","field"?}}` as the wire protocol's errors.
    static func failure(code: String, _ message: String, field: String?, status: HTTPResponse.Status = .badRequest) -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let field { error["field"] = .string(field) }
        return json(["error": .object(error)], status: status)
    }

    static func failure(_ error: any Error) -> Response {
        if let e = error as? AbmError {
            let status: HTTPResponse.Status = e.code == ErrorCode.invalidField ? .badRequest : .serviceUnavailable
            return failure(code: e.code.rawValue, e.message, field: e.field, status: status)
        }
        return failure(code: "internal", "\(error)", field: nil, status: .internalServerError)
    }
}
