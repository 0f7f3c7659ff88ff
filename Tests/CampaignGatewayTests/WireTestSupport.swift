import AbmTestSupport
import AbmWire
import Testing
import CampaignCore
@testable import CampaignGateway
@testable import CampaignStore
import Foundation

/// Paths of the package, found from this file (Tests/CampaignGatewayTests/…).
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let protocols = root.appendingPathComponent("protocols")
    static let examples = protocols.appendingPathComponent("examples")

    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
    static func example(_ file: String) throws -> [UInt8] { try bytes(examples.appendingPathComponent(file)) }
    static func json(_ url: URL) throws -> JSONValue { try JSONParser.parse(bytes(url), limits: JSONLimits(maxDepth: 64, maxStringBytes: 1 << 20)) }

    static var manifest: JSONValue {
        get throws { try json(examples.appendingPathComponent("manifest.json")) }
    }

    /// Runs `protocols/tools/validate.py` over `(schema, instance)` samples; returns its exit code and output.
    static func validateWithSchemas(_ samples: [(schema: String, instance: JSONValue)]) async throws -> (Int32, String) {
        let list = JSONValue.array(samples.map { .object(["schema": .string($0.schema), "instance": $0.instance]) })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("abm-wire-samples-\(UUID().uuidString).json")
        try Data(JSONWriter.encode(list)).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await python([protocols.appendingPathComponent("tools/validate.py").path, file.path])
    }

    /// Runs the system interpreter (Debian's, with python3-zmq and python3-jsonschema) with `arguments`;
    /// returns its exit code and output (standard output and error together). Never waited for on a cooperative
    /// thread: a test blocking one of the pool's two threads for seconds stalled every server under test in
    /// the process (and a Python client waiting for one of them), failing unrelated tests by timeout.
    static func python(_ arguments: [String], environment: [String: String]? = nil) async throws -> (Int32, String) {
        let run = try await ChildProcess.run("/usr/bin/python3", arguments, environment: environment, mergingErrors: true)
        return (run.status, run.stdout)
    }
}

extension JSONValue {
    var intValue: Int64? { if case .int(let i) = self { return i } else { return nil } }

    /// Removes a key of an object.
    func removing(_ key: String) -> JSONValue {
        guard var o = objectValue else { return self }
        o[key] = nil
        return .object(o)
    }
}

/// A `DomainEvent` from a documented event body (the inverse of `WireEvent.encodeBody` + seq).
func domainEvent(from body: JSONValue) throws -> DomainEvent {
    let o = try #require(body.objectValue)
    var fields = o
    for k in ["seq", "type", "at", "account_id", "campaign_id"] { fields[k] = nil }
    let at = try #require(o["at"]?.stringValue)
    return DomainEvent(at: try #require(WireTime.parse(at)), accountId: try #require(o["account_id"]?.stringValue),
                       campaignId: o["campaign_id"]?.stringValue,
                       payload: try EventPayload(type: try #require(o["type"]?.stringValue), fields: fields))
}



/// A stored (and published) event body: `{"seq":N,` spliced in front of `body` by the store, the one place
/// that numbers events.
func numberedBody(_ seq: Int64, _ body: [UInt8]) throws -> [UInt8] {
    [UInt8](try CampaignStore.EventBody.numbered(seq: seq, body: Data(body), type: "test"))
}
