import AbmWire
import CampaignCore
import CampaignStore
import Foundation

/// What a `migrate` did.
public struct MigrationReport: Sendable, Equatable {
    public var playbook: String
    public var toVersion: Int
    /// Running campaigns (active or paused) of the playbook that will take up `toVersion` at their next step.
    public var campaigns: Int

    public init(playbook: String, toVersion: Int, campaigns: Int) {
        self.playbook = playbook
        self.toVersion = toVersion
        self.campaigns = campaigns
    }
}

extension CampaignRuntime {
    // MARK: - Playbooks

    /// The playbooks this runtime decides with (nil when its decider is not a `Playbooks`).
    public var playbooks: Playbooks? { env.decider as? Playbooks }

    /// Migrates the running campaigns of `playbook` (of one account when `accountId` is given) to
    /// `toVersion`, each taking it up at its next step (`campaign.migrated`). Parked campaigns are left as
    /// they are (resume them, then migrate). Idempotent: campaigns already migrating to, or running,
    /// `toVersion` are counted or left as they are.
    /// - Parameter onlyOwnedAccounts: in a cluster, visiting them all, the campaigns of shards other nodes own
    ///   are left to them (each node migrates its own); otherwise one of them fails with `not_owner`.
    public func migrate(playbook: String, toVersion: Int, accountId: String? = nil,
                        onlyOwnedAccounts: Bool = false) async throws -> MigrationReport {
        guard enter() else { throw Self.notRunning }
        defer { leave() }
        if let books = playbooks {
            guard let book = books.byName[playbook] else {
                throw AbmError(code: ErrorCode.notFound, message: "playbook: no playbook \(playbook.prefix(64))", field: "playbook")
            }
            guard book.versions[toVersion] != nil else {
                throw AbmError(code: ErrorCode.invalidField,
                               message: "to_version: playbook \(playbook) has versions \(book.versions.keys.sorted().map(String.init).joined(separator: ", "))",
                               field: "to_version")
            }
        }
        var report = MigrationReport(playbook: playbook, toVersion: toVersion, campaigns: 0)
        let input = CampaignInput.command(.migrate(playbook: playbook, toVersion: toVersion))
        func visit(_ account: String, single: Bool) async throws {
            guard owns(account) else {
                if onlyOwnedAccounts && !single { return }
                throw Self.notOwnerError(account)
            }
            if coordinator.isParked(account) {
                if single { throw Self.parkedError(account) }
                return
            }
            let turn = try await coordinator.withActor(account) { actor in
                try await actor.handle(input, request: nil, wantsStatus: true) { _, _ in Data() }
            }
            switch turn.result {
            case .success:
                if turn.status?["playbook"]?["migrating_to"] == .int(Int64(toVersion)) { report.campaigns += 1 }
            case .failure(let error):
                // Another playbook's campaign is no error when visiting them all.
                if single || error.field != "playbook" { throw error }
            }
        }
        if let accountId {
            try await visit(accountId, single: true)
            return report
        }
        for status in [CampaignStatus.active, .paused] {
            var query = CampaignQuery(status: status.rawValue, limit: 500)
            while true {
                let rows = try await store.campaigns(query)
                for row in rows { try await visit(row.accountId, single: false) }
                guard rows.count == query.limit, let last = rows.last else { break }
                query.after = last.accountId
            }
        }
        logger.info("playbook migration", metadata: ["playbook": "\(playbook)", "to_version": "\(toVersion)",
                                                      "campaigns": "\(report.campaigns)"])
        return report
    }

    /// Every playbook with its versions: `[{name, latest, versions, accepts_leads, definition}]`, by name.
    public func playbookList() async throws -> JSONValue {
        guard let books = playbooks else { return .array([]) }
        var out: [JSONValue] = []
        for (name, book) in books.byName.sorted(by: { $0.key < $1.key }) {
            let definition = try await PlaybookRegistry.definition(store: store, PlaybookRef(name: name, version: book.latest))
            out.append(["name": .string(name), "latest": .int(Int64(book.latest)),
                        "versions": .array(book.versions.keys.sorted().map { .int(Int64($0)) }),
                        "accepts_leads": .bool(book.acceptsLeads), "definition": definition ?? .null])
        }
        return .array(out)
    }
}
