import AbmWire
import CampaignCore
import CampaignStore
import Foundation

extension Playbooks: CampaignDecider {
    public func decide(_ state: AccountState, _ input: CampaignInput, now: Date,
                       context: EngineContext) throws -> Result<Transition, AbmError> {
        handle(state, input, now: now, context: context)
    }

    public var explainer: CampaignExplainer { CampaignExplainer(config: defaultEngine.config) }
}

/// Every version of every playbook, kept in the store (meta keys `playbook/<name>/v<n>` with the
/// definition, `playbook/<name>/latest`, and `playbooks` listing the names), so that a restart with a new
/// configuration adds a version instead of rewriting the campaigns that run an older one.
public enum PlaybookRegistry {
    /// A playbook as configured: its name and its definition (a partial `CampaignConfig` object).
    public typealias Definitions = [String: JSONValue]

    /// Records each configured definition that differs from its playbook's latest stored version as a new
    /// version, then builds every stored version. A stored playbook that is no longer configured keeps
    /// its versions (its campaigns run on) but accepts no lead. An invalid definition is `invalid_config`
    /// naming the playbook, and nothing is recorded.
    public static func load(store: any CampaignStorage, definitions: Definitions) async throws -> Playbooks {
        // Every definition is checked before any is recorded.
        for (name, definition) in definitions {
            guard PlaybookRef.isValidName(name) else {
                throw AbmError(code: ErrorCode.invalidConfig,
                               message: "playbooks.\(name.prefix(64)): a name is 1 to 64 letters, digits, _ or -", field: "playbooks")
            }
            do throws(AbmError) {
                _ = try CampaignConfig(merging: definition)
            } catch {
                throw AbmError(code: ErrorCode.invalidConfig, message: "playbooks.\(name).\(error.message)", field: "playbooks.\(name)")
            }
        }
        var names = Set(try await storedNames(store))
        for (name, definition) in definitions.sorted(by: { $0.key < $1.key }) {
            let text = String(decoding: JSONWriter.encode(definition), as: UTF8.self)
            let latest = Int(try await store.meta(latestKey(name)) ?? "") ?? 0
            if latest > 0, try await store.meta(versionKey(name, latest)) == text { continue }
            // The version first, then the pointer: a crash between them leaves an unused version.
            try await store.setMeta(versionKey(name, latest + 1), text)
            try await store.setMeta(latestKey(name), String(latest + 1))
            if names.insert(name).inserted {
                try await store.setMeta(namesKey, String(decoding: JSONWriter.encode(.array(names.sorted().map(JSONValue.string))), as: UTF8.self))
            }
        }
        var books: [String: Playbooks.Playbook] = [:]
        for name in names {
            guard let latest = Int(try await store.meta(latestKey(name)) ?? ""), latest > 0 else { continue }
            var versions: [Int: CampaignEngine] = [:]
            for v in 1...latest {
                guard let text = try await store.meta(versionKey(name, v)) else { continue }
                let config = try CampaignConfig(merging: try JSONParser.parse(Array(text.utf8)))
                versions[v] = CampaignEngine(config: config)
            }
            books[name] = Playbooks.Playbook(versions: versions, latest: latest, acceptsLeads: definitions[name] != nil)
        }
        return Playbooks(books)
    }

    /// The stored definition of a version (nil when there is none).
    public static func definition(store: any CampaignStorage, _ ref: PlaybookRef) async throws -> JSONValue? {
        guard let text = try await store.meta(versionKey(ref.name, ref.version)) else { return nil }
        return try JSONParser.parse(Array(text.utf8))
    }

    static let namesKey = "playbooks"
    static func latestKey(_ name: String) -> String { "playbook/\(name)/latest" }
    static func versionKey(_ name: String, _ version: Int) -> String { "playbook/\(name)/v\(version)" }

    private static func storedNames(_ store: any CampaignStorage) async throws -> [String] {
        guard let text = try await store.meta(namesKey) else { return [] }
        return try JSONParser.parse(Array(text.utf8)).arrayValue?.compactMap(\.stringValue) ?? []
    }
}
