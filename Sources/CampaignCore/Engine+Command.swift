import AbmWire
/// Operator commands (protocols/abm-wire-v1.md §7.1: a command already in effect is ok and changes nothing; pause, resume or cancel
/// of a completed campaign, or pause or resume of a cancelled one, is `invalid_state`).
extension CampaignEngine {
    func handleCommand(_ command: CampaignCommand, now: Double, work: inout Work) -> Result<Void, AbmError> {
        guard var camp = work.state.campaign else {
            return .failure(AbmError(code: ErrorCode.notFound,
                                          message: "account \(work.state.accountId) has no campaign", field: "account_id"))
        }
        func refuse(_ what: String) -> Result<Void, AbmError> {
            .failure(AbmError(code: ErrorCode.invalidState,
                                   message: "cannot \(what) a \(camp.status.rawValue) campaign", field: "account_id"))
        }
        switch command {
        case .pause(let reason):
            switch camp.status {
            case .paused: return .success(())
            case .completed, .cancelled: return refuse("pause")
            case .active:
                let r = reason.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } ?? OperatorReason.operator
                pause(reason: r, at: now, work: &work)
            }
        case .resume:
            switch camp.status {
            case .active: return .success(())
            case .completed, .cancelled: return refuse("resume")
            case .paused:
                camp.status = .active
                camp.reason = nil
                work.state.campaign = camp
                work.emit(.campaignResumed(.init(reason: OperatorReason.operator)), at: now)
                // Due at the later of the planned time and now, then moved into the window (min gap and
                // out-of-office still apply).
                advance(work: &work, earliest: now, until: now)
            }
        case .cancel:
            switch camp.status {
            case .cancelled: return .success(())
            case .completed: return refuse("cancel")
            case .active, .paused:
                camp.status = .cancelled
                camp.reason = OperatorReason.operator
                camp.next = nil
                work.state.campaign = camp
                work.effects.append(.cancelTimer)
                work.emit(.campaignCancelled(.init(reason: OperatorReason.operator)), at: now)
            }
        case .step:
            guard camp.status == .active else { return refuse("step") }
            guard let planned = camp.next, let i = camp.index(ofId: planned.contactId), camp.contacts[i].isEligible else {
                return .failure(AbmError(code: ErrorCode.invalidState, message: "no touch is planned for \(work.state.accountId)",
                                         field: "account_id"))
            }
            work.effects.append(.cancelTimer)
            // Suppression always applies: a suppressed contact is set aside and nothing goes out now.
            if work.context.isSuppressed(camp.contacts[i].email) {
                work.state.campaign!.contacts[i].standing = .suppressed
                work.emit(.contactSuppressed(.init(contactId: planned.contactId, email: camp.contacts[i].email, reason: .suppressed)),
                          at: now)
            } else {
                emitTouch(work: &work, contact: i, at: now, reason: planned.reason, operatorStep: true)
            }
            // The next step is planned from now, as after any touch.
            advance(work: &work, earliest: now, until: now)
        case .migrate(let playbook, let version):
            guard camp.status == .active || camp.status == .paused else { return refuse("migrate") }
            let current = camp.playbook ?? .legacy
            guard current.name == playbook else {
                return .failure(AbmError(code: ErrorCode.invalidField,
                                         message: "playbook: campaign \(camp.id) follows playbook \(current.name), not \(playbook)",
                                         field: "playbook"))
            }
            // Back to the version it runs: nothing pending any more.
            work.state.campaign!.migratingTo = version == current.version ? nil : version
        }
        return .success(())
    }
}

/// Timers.
extension CampaignEngine {
    /// A timer is current when it is the pending one (its due time equals the planned one, to the millisecond,
    /// or is later); anything else is stale and ignored.
    ///
    /// A timer handled late (the runtime was down or busy) does not replay the missed schedule: the planned touch
    /// goes out once, at the firing instant moved into the contact's window, and is stamped with that instant
    /// (`planned_at` keeps the planned one). The next interval then counts from the actual send, so a long
    /// downtime shifts the rest of the campaign instead of sending every missed touch at once.
    func handleTimer(dueAt: Double, now: Double, work: inout Work) {
        guard let camp = work.state.campaign, camp.status == .active, let due = camp.nextDueAt?.timeIntervalSince1970,
              dueAt >= due - 0.001 else { return }
        let preferred = camp.next.map { (id: $0.contactId, reason: $0.reason) }
        // Never before the planned instant (a caller may pass an earlier `now`), else the firing instant.
        let firing = max(now, due)
        advance(work: &work, earliest: firing, until: firing, preferred: preferred, plannedAt: due)
    }
}
