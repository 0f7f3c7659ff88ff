import AbmWire
import CampaignCore
import CampaignStore
import Foundation
import Testing

@testable import CampaignRuntime

/// `erase` and retention, through the runtime with the real engine.
@Suite struct PrivacyTests {
    @Test(arguments: StoreKind.allCases)
    func erasingAPersonRemovesThemFromStateEventsAndRepliesAndKeepsThemSuppressed(kind: StoreKind) async throws {
        let store = try kind.make()
        let (runtime, _, publisher) = try await startRuntime(store)
        // Pat is the primary of acme (touched, then named in colleagues' messages) and a colleague of beta.
        #expect(await runtime.submitLead(requestId: "r1", lead: lead("acme", colleagues: 2)).status == .accepted)
        _ = try await runtime.advanceClock(seconds: 30 * day)
        #expect(await runtime.submitLead(requestId: "r2", lead: lead("beta", colleagues: 1, extra: ["pat@acme.example"])).status == .accepted)
        // A later lead repeats Pat's address: its reply names the address in a warning.
        _ = await runtime.submitResponse(requestId: "u1", ResponseInput(accountId: "gamma", contactEmail: "pat@acme.example",
                                                                        kind: .unsubscribe))
        let warned = await runtime.submitLead(requestId: "r3", lead: lead("delta", colleagues: 0, primary: "pat@acme.example"))
        #expect(warned.warnings.contains { $0.contains("pat@acme.example") })
        let before = try await allEvents(runtime)
        // Colleagues' messages at acme name Pat; at beta Pat is "Extra Person".
        #expect(before.contains { $0.accountId == "acme" && $0.type == "touchpoint.due" && $0.contactEmail != "pat@acme.example"
                && String(decoding: $0.body, as: UTF8.self).contains("Pat") })
        #expect(before.contains { $0.accountId == "beta" && String(decoding: $0.body, as: UTF8.self).contains("Extra Person") })

        let report = try await runtime.erase(email: "PAT@acme.example")
        #expect(report.emailSHA256 == "53850170782a437ed598b5387ea11b905bdc652f224217d4d1b616d52c3089fa")  // hashlib.sha256(b"pat@acme.example")
        #expect(report.accounts == 4)  // acme, beta, gamma (its unsubscribe event), delta
        #expect(report.replies >= 1)

        // Nothing of Pat in any stored event, state or reply.
        let after = try await allEvents(runtime)
        for e in after {
            let text = String(decoding: e.body, as: UTF8.self)
            #expect(!text.contains("pat@acme.example"), "\(text)")
            if e.accountId == "acme" || e.accountId == "delta" {
                #expect(!text.contains("Pat"), "\(text)")
                #expect(!text.contains("+15550100"), "\(text)")
            }
            if e.accountId == "beta" { #expect(!text.contains("Extra Person"), "\(text)") }
        }
        for account in ["acme", "beta", "delta"] {
            let state = try #require(try await store.loadState(accountId: account))
            #expect(!String(decoding: state, as: UTF8.self).contains("pat@acme.example"))
        }
        let reply = try #require(try await store.reply(for: RequestKey(space: .ingress, id: "r3")))
        #expect(!String(decoding: reply, as: UTF8.self).contains("pat@acme.example"))
        // Seqs unchanged; audit events say who (by hash) and nothing else.
        #expect(after.prefix(before.count).map(\.seq) == before.map(\.seq))
        let audits = after.filter { $0.type == "contact.erased" }
        #expect(Set(audits.map(\.accountId)) == ["acme", "beta", "gamma", "delta"])
        #expect(audits.allSatisfy { $0.json["email_sha256"]?.stringValue == report.emailSHA256 })
        #expect(await publisher.events.contains { $0.type == "contact.erased" })
        // The status shows the contact erased, without its data.
        let status = try #require(await runtime.status(accountId: "acme"))
        let primary = try #require(status["contacts"]?.arrayValue?.first)
        #expect(primary["state"] == "erased")
        #expect(primary["email"] == .string(Erased.text))
        #expect(primary["name"] == .string(Erased.text))
        // Suppression only as a hash, still effective: a new lead naming Pat never touches them.
        let suppressed = try await store.suppressedEmails()
        #expect(!suppressed.contains("pat@acme.example"))
        #expect(suppressed.contains(Suppression.hashed(report.emailSHA256)))
        #expect(await runtime.submitLead(requestId: "r4", lead: lead("epsilon", colleagues: 1, primary: "pat@acme.example")).status == .accepted)
        _ = try await runtime.advanceClock(seconds: 30 * day)
        let touchedPat = try await allEvents(runtime).filter { $0.type == "touchpoint.due" && $0.contactEmail == "pat@acme.example" }
        #expect(touchedPat.isEmpty)
        // The new lead stored the address again (the producer sent it): erasing again finds only that.
        let again = try await runtime.erase(email: "pat@acme.example")
        #expect(again.accounts == 1)
        #expect(try await store.accounts(mentioning: "pat@acme.example", limit: 10).isEmpty)
        await runtime.shutdown()
    }

    @Test func anErasedSuppressionSurvivesARestart() async throws {
        let path = temporaryDatabasePath()
        do {
            let (runtime, _, _) = try await startRuntime(try SQLiteStore(path: path))
            _ = await runtime.submitResponse(requestId: "u1", ResponseInput(accountId: "a", contactEmail: "x@y.io", kind: .unsubscribe))
            _ = try await runtime.erase(email: "x@y.io")
            await runtime.shutdown()
        }
        let (runtime, _, _) = try await startRuntime(try SQLiteStore(path: path))
        #expect(await runtime.submitLead(requestId: "r1", lead: lead("b", colleagues: 0, primary: "x@y.io")).status == .accepted)
        let status = try #require(await runtime.status(accountId: "b"))
        #expect(status["contacts"]?.arrayValue?.first?["state"] == "suppressed")
        await runtime.shutdown()
    }

    @Test(arguments: StoreKind.allCases)
    func retentionPrunesOldEventsAndRequestIdsAndReplayBelowThemIsRefused(kind: StoreKind) async throws {
        let store = try kind.make()
        let (runtime, _, _) = try await startRuntime(store)
        #expect(await runtime.submitLead(requestId: "r1", lead: lead("acme")).status == .accepted)
        _ = try await runtime.advanceClock(seconds: 20 * day)
        let all = try await allEvents(runtime)
        let policy = RetentionPolicy(events: 10 * day, requestIds: 10 * day)
        let pruned = try await runtime.prune(policy)
        let kept = try await allEvents(runtime, after: try await runtime.prunedSeq())
        #expect(pruned.events > 0 && pruned.requestIds == 1)
        #expect(kept.map(\.seq) == Array(all.map(\.seq).suffix(kept.count)))
        #expect(kept.count == all.count - pruned.events)
        #expect(all.prefix(pruned.events).allSatisfy { $0.at < monday9.addingTimeInterval(10 * day) })
        do {
            _ = try await runtime.events(afterSeq: 0, limit: 10)
            Issue.record("replay from 0 after pruning must be refused")
        } catch let e as AbmError {
            #expect(e.code == ErrorCode.eventsPruned)
            #expect(e.field == "after_seq")
        }
        // The pruned id is a new request now (a new campaign is not started: the account's is running).
        #expect(await runtime.submitLead(requestId: "r1", lead: lead("acme")).status == .accepted)
        await runtime.shutdown()
    }
}
