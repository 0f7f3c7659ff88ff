import AbmWire
import Foundation

/// Which playbook (a named, versioned campaign configuration) a campaign follows, and at which version.
public struct PlaybookRef: Sendable, Equatable, Hashable {
    /// The playbook a lead that names none starts (the configuration's `campaign` key).
    public static let defaultName = "default"
    /// What a campaign stored before playbooks existed follows.
    public static let legacy = PlaybookRef(name: defaultName, version: 1)

    public var name: String
    public var version: Int

    public init(name: String, version: Int) {
        self.name = name
        self.version = version
    }

    /// Letters, digits, `_` and `-`, 1 to 64 of them: a name that is safe in a store key and a file name.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { c in (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2d }
    }
}

/// The playbooks a server decides with (docs/campaign-behaviour.md, "Playbooks"): every stored version of
/// every playbook as an engine. A new campaign follows the latest version of the playbook its lead names
/// (`lead.playbook`, default `default`); a running campaign keeps its version until an operator migrates it
/// (`CampaignCommand.migrate`), which takes effect at its next step (a timer or `step`) with a
/// `campaign.migrated` event. Pure: what the versions are is read from the store by the runtime.
public struct Playbooks: Sendable {
    public struct Playbook: Sendable {
        public var versions: [Int: CampaignEngine]
        /// The version new campaigns follow.
        public var latest: Int
        /// Configured at this start: leads may name it. A playbook no longer configured keeps running
        /// the campaigns that follow it, but starts none.
        public var acceptsLeads: Bool

        public init(versions: [Int: CampaignEngine], latest: Int, acceptsLeads: Bool) {
            self.versions = versions
            self.latest = latest
            self.acceptsLeads = acceptsLeads
        }
    }

    public private(set) var byName: [String: Playbook]

    public init(_ byName: [String: Playbook]) {
        self.byName = byName
    }

    /// One playbook, `default`, at version 1: a server without stored versions (tests, benchmarks).
    public static func single(_ config: CampaignConfig) -> Playbooks {
        Playbooks([PlaybookRef.defaultName: Playbook(versions: [1: CampaignEngine(config: config)], latest: 1, acceptsLeads: true)])
    }

    /// The engine of a version; a campaign stored before playbooks follows `default` version 1.
    public func engine(for ref: PlaybookRef?) -> CampaignEngine {
        let ref = ref ?? .legacy
        if let book = byName[ref.name], let engine = book.versions[ref.version] { return engine }
        // Only a store edited by hand gets here; the newest version of the default decides rather than nothing.
        return defaultEngine
    }

    /// The latest version of `default` (explanations and previews of campaigns that have none).
    public var defaultEngine: CampaignEngine {
        let book = byName[PlaybookRef.defaultName] ?? byName.values.first!
        return book.versions[book.latest]!
    }

    public func handle(_ state: AccountState, _ input: CampaignInput, now: Date,
                       context: EngineContext) -> Result<Transition, AbmError> {
        if state.others.isEmpty, !startsBeside(state, input) {
            return decideOne(state, input, now: now, context: context)
        }
        var several = SeveralPlaybooks(books: self, state: state, now: now, context: context)
        return several.decide(input)
    }

    /// A lead naming another playbook than the account's running campaign's: a second campaign beside it.
    private func startsBeside(_ state: AccountState, _ input: CampaignInput) -> Bool {
        guard case .lead(let lead) = input, let camp = state.campaign, camp.isRunning,
              case .success(let ref) = playbook(named: lead["playbook"]) else { return false }
        return ref.name != (camp.playbook ?? .legacy).name
    }

    /// One campaign's decision (the account's only running one, or one of several seen alone).
    func decideOne(_ state: AccountState, _ input: CampaignInput, now: Date,
                   context: EngineContext) -> Result<Transition, AbmError> {
        let camp = state.campaign
        let running = camp.map { $0.status == .active || $0.status == .paused } ?? false
        switch input {
        case .lead(let lead) where !running:
            let ref: PlaybookRef
            switch playbook(named: lead.objectValue?["playbook"]) {
            case .success(let r): ref = r
            case .failure(let e): return .failure(e)
            }
            return engine(for: ref).handle(state, input, now: now, context: context).map { t in
                var t = t
                if let started = t.state.campaign, started.id != camp?.id { t.state.campaign!.playbook = ref }
                return t
            }
        case .command(.migrate(let name, let version)):
            guard let book = byName[name] else { return .failure(Self.unknown(name, field: "playbook", known: byName.keys)) }
            guard book.versions[version] != nil else {
                return .failure(AbmError(code: ErrorCode.invalidField,
                                         message: "to_version: playbook \(name) has versions \(book.versions.keys.sorted().map(String.init).joined(separator: ", "))",
                                         field: "to_version"))
            }
            return engine(for: camp?.playbook).handle(state, input, now: now, context: context)
        case .timerFired(let dueAt):
            guard let camp, let to = camp.migratingTo, camp.status == .active, let due = camp.nextDueAt,
                  dueAt.timeIntervalSince1970 >= due.timeIntervalSince1970 - 0.0005 else { break }
            return migrated(state, to: to, input, now: now, context: context)
        case .command(.step):
            guard let camp, camp.migratingTo != nil, camp.status == .active else { break }
            return migrated(state, to: camp.migratingTo!, input, now: now, context: context)
        default:
            break
        }
        return engine(for: camp?.playbook).handle(state, input, now: now, context: context)
    }

    /// The step that takes up a pending migration: decided by the new version's engine, after a
    /// `campaign.migrated` event.
    func migrated(_ state: AccountState, to version: Int, _ input: CampaignInput, now: Date,
                          context: EngineContext) -> Result<Transition, AbmError> {
        var moved = state
        let from = state.campaign!.playbook ?? .legacy
        let ref = PlaybookRef(name: from.name, version: version)
        moved.campaign!.playbook = ref
        moved.campaign!.migratingTo = nil
        return engine(for: ref).handle(moved, input, now: now, context: context).map { t in
            var t = t
            let at = t.effects.lazy.compactMap { e -> Date? in if case .emit(let ev) = e { return ev.at } else { return nil } }.first
                ?? Date(timeIntervalSince1970: (now.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
            let event = DomainEvent(at: at, accountId: state.accountId, campaignId: state.campaign!.id,
                                    payload: .campaignMigrated(.init(playbook: from.name, fromVersion: from.version, toVersion: version)))
            t.effects.insert(.emit(event), at: 0)
            return t
        }
    }

    /// The playbook a new campaign follows: the lead's `playbook` (a configured name) or `default`.
    func playbook(named value: JSONValue?) -> Result<PlaybookRef, AbmError> {
        let name: String
        switch value {
        case nil, .null?: name = PlaybookRef.defaultName
        case .string(let s)?: name = s
        default:
            return .failure(AbmError(code: ErrorCode.invalidField, message: "lead.playbook must be a playbook name", field: "lead.playbook"))
        }
        guard let book = byName[name], book.acceptsLeads else {
            return .failure(Self.unknown(name, field: "lead.playbook", known: byName.filter(\.value.acceptsLeads).keys))
        }
        return .success(PlaybookRef(name: name, version: book.latest))
    }

    private static func unknown(_ name: String, field: String, known: some Sequence<String>) -> AbmError {
        AbmError(code: ErrorCode.invalidField,
                 message: "\(field): unknown playbook \"\(name.prefix(64))\" (configured: \(known.sorted().joined(separator: ", ")))",
                 field: field)
    }

    /// The `campaign` object with its playbook (`playbook {name, version, migrating_to}`); with campaigns of
    /// other playbooks running beside it, also `others` (theirs) and `account_next` (which one holds the
    /// account's next touch, and why).
    public func status(_ state: AccountState, now: Date) -> JSONValue? {
        guard var status = campaignStatus(state.accountId, state.campaign, now: now) else { return nil }
        if !state.others.isEmpty {
            status["others"] = .array(state.others.compactMap { campaignStatus(state.accountId, $0, now: now).map(JSONValue.object) })
            status["account_next"] = SeveralPlaybooks.nextTouchHolder(state, books: self)
        }
        return .object(status)
    }

    private func campaignStatus(_ accountId: String, _ camp: CampaignState?, now: Date) -> [String: JSONValue]? {
        guard let camp else { return nil }
        var one = AccountState(accountId: accountId)
        one.campaign = camp
        guard var status = engine(for: camp.playbook).status(one, now: now)?.objectValue else { return nil }
        let ref = camp.playbook ?? .legacy
        status["playbook"] = ["name": .string(ref.name), "version": .int(Int64(ref.version)),
                              "migrating_to": camp.migratingTo.map { .int(Int64($0)) } ?? .null]
        return status
    }

    public func preview(_ state: AccountState, lead: JSONValue?, now: Date, context: EngineContext) -> Result<JSONValue, AbmError> {
        guard let lead else {
            // The account's next touch: of the campaign that holds it.
            let holder = SeveralPlaybooks.holder(state) ?? state.campaign
            var one = state
            one.campaign = holder
            one.others = []
            return engine(for: holder?.playbook).preview(one, lead: nil, now: now, context: context)
        }
        let ref: PlaybookRef
        switch playbook(named: lead["playbook"]) {
        case .success(let r): ref = r
        case .failure(let e): return .failure(e)
        }
        var one = state
        one.others = []
        if let same = ([state.campaign].compactMap { $0 } + state.others).first(where: { $0.isRunning && ($0.playbook ?? .legacy).name == ref.name }) {
            one.campaign = same
            return engine(for: same.playbook).preview(one, lead: lead, now: now, context: context)
        }
        // A campaign of this playbook would start (beside the running ones).
        one.campaign?.status = .completed
        return engine(for: ref).preview(one, lead: lead, now: now, context: context)
    }
}
