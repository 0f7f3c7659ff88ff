import AbmTestSupport
import AbmWire
import CampaignCore
import CampaignRuntime
@testable import CampaignGateway
import Foundation
import Testing
import ZeroMQ

/// What the real server sends validates against `protocols/schemas`, and the protocol's Python client
/// works against it.
@Suite(.timeLimit(.minutes(1)))
struct ServerInteropTests {
    @Test func realAcksRepliesAndEventsValidateAgainstTheSchemas() async throws {
        let f = try await ServerFixture.start()
        var samples: [(schema: String, instance: JSONValue)] = []
        let accepted = try await f.ingress.call(lead(id: "v-1", account: "wayne", colleagues: [colleague("wayne", 1)]))
        samples.append(("ack.schema.json", accepted))
        samples.append(("ack.schema.json", try await f.ingress.call(lead(id: "v-1", account: "wayne"))))
        try await f.ingress.sendFrames([[], Array("{".utf8)])
        samples.append(("ack.schema.json", try await f.ingress.receiveJSON()))
        samples.append(("ack.schema.json", try await f.ingress.call(lead(id: "v-2", account: ""))))
        samples.append(("ack.schema.json", try await f.ingress.call([
            "type": "response", "id": "v-3", "account_id": "wayne", "contact_email": "c1@wayne.example.com", "kind": "reply",
        ])))
        samples.append(("clock.advance.reply.schema.json",
                        try await f.control.call(["type": "clock.advance", "id": "c-1", "seconds": 864_000])))
        samples.append(("status.reply.schema.json", try await f.control.call(["type": "status", "id": "c-2", "account_id": "wayne"])))
        samples.append(("resume.reply.schema.json", try await f.control.call(["type": "resume", "id": "c-3", "account_id": "wayne"])))
        samples.append(("pause.reply.schema.json", try await f.control.call(["type": "pause", "id": "c-4", "account_id": "wayne", "reason": "x"])))
        samples.append(("cancel.reply.schema.json", try await f.control.call(["type": "cancel", "id": "c-5", "account_id": "wayne"])))
        samples.append(("reply.error.schema.json", try await f.control.call(["type": "pause", "id": "c-6", "account_id": "nobody"])))
        samples.append(("reply.error.schema.json", try await f.control.call(["type": "pause", "id": "c-7", "account_id": "wayne"])))
        let page = try await f.control.call(["type": "events", "id": "c-8", "limit": 1000])
        samples.append(("events.reply.schema.json", page))
        let events = try #require(page["events"]?.arrayValue)
        #expect(events.count >= 5)
        for e in events {
            samples.append(("event.schema.json", e))
            samples.append(("event.\(e["type"]!.stringValue!).schema.json", e))
        }
        let checked = samples
        let (status, output) = try await Repo.validateWithSchemas(checked)
        #expect(status == 0, "\(output)")
        await f.stop()
    }

    @Test func pythonClientFeedsRespondsSubscribesAndReplays() async throws {
        let f = try await ServerFixture.start()
        let script = """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from abm_client import AbmClient
        c = AbmClient(ingress=sys.argv[2], control=sys.argv[3], events=sys.argv[4], timeout=30)
        leads = [{"account_id": f"py-{k}", "id": f"py-{k}-p", "name": "Ada Lovelace", "email": f"ada@py{k}.example.com",
                  "title": "CTO", "timezone": "UTC", "metadata": {"company_name": f"Py {k}"}} for k in range(50)]
        acks = list(c.send_leads(leads, window=20))
        assert len(acks) == 50 and all(a["status"] == "accepted" for a in acks), acks[:3]
        ack = c.send_response("py-0", "reply", contact_email="ada@py0.example.com", text="interested")
        assert ack["status"] == "accepted", ack
        assert c.status("py-0")["status"] == "paused"
        c.clock_advance(86400 * 3)
        replayed = list(c.replay(0))
        seqs = [e["seq"] for e in replayed]
        assert seqs == list(range(1, len(seqs) + 1)), seqs
        sub = list(c.subscribe(after_seq=0, idle_timeout=0.3))
        assert [e["seq"] for _, e in sub] == seqs, (len(sub), len(seqs))
        print(json.dumps({"events": len(seqs)}))
        """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("abm-py-\(UUID().uuidString).py")
        try Data(script.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let e = f.server.endpoints
        let (status, output) = try await runPythonScript(file, [Repo.protocols.appendingPathComponent("client").path,
                                                               e.ingress, e.control, e.events])
        #expect(status == 0, "\(output)")
        await f.stop()
    }
}

@Suite struct ServerConfigFileTests {
    @Test func deployExampleConfigIsValid() throws {
        let file = try ServerConfigFile(contentsOf: Repo.root.appendingPathComponent("deploy/abm.example.json").path)
        var options = ServerOptions()
        file.apply(to: &options)
        #expect(options.dataDirectory == "/var/lib/abm")
        #expect(options.runtime.maxResidentCampaigns == 100_000)
        #expect(options.campaign.maxTouchpoints == 7)
        #expect(options.campaign.senderName == "Alex Morgan")
        #expect(options.endpoints == AbmEndpoints())
        #expect(file.http == "127.0.0.1:5573")
        #expect(options.runtime.retention == RetentionPolicy(events: nil, requestIds: 30 * 86_400, interval: 3600))
        // Playbook renewal is `campaign` with its own keys over it.
        let renewal = try #require(options.playbooks?["renewal"]?.objectValue)
        #expect(renewal["max_touchpoints"] == 3 && renewal["sender"] != nil)
        #expect(options.playbooks?["default"]?["max_touchpoints"] == 7)
    }

    @Test func playbookDefinitionsAreCheckedAndNamed() throws {
        for (bad, field) in [(["playbooks": ["renewal": ["max_touchpoints": 0]]] as JSONValue, "playbooks.renewal.max_touchpoints"),
                             (["playbooks": ["bad name": [:]]], "playbooks.bad name"),
                             (["playbooks": ["renewal": 3]], "playbooks.renewal"),
                             (["playbooks": []], "playbooks")] {
            do {
                _ = try ServerConfigFile(json: bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.code == ErrorCode.invalidConfig && error.field == field, "\(error.message)")
            }
        }
        // Without a `playbooks` key: one playbook, `default`, with the `campaign` keys.
        let file = try ServerConfigFile(json: ["campaign": ["max_touchpoints": 4]])
        #expect(file.playbookDefinitions == ["default": ["max_touchpoints": 4]])
    }

    @Test func retentionKeysAreCheckedAndNamed() throws {
        let file = try ServerConfigFile(json: ["retention": ["events_days": 1.5, "request_ids_days": .null]])
        #expect(file.retention == RetentionPolicy(events: 1.5 * 86_400, requestIds: nil))
        for (bad, key) in [(["retention": ["events_days": -1]] as JSONValue, "retention.events_days"),
                           (["retention": ["request_ids_days": "30"]], "retention.request_ids_days"),
                           (["retention": ["interval_seconds": 0]], "retention.interval_seconds"),
                           (["retention": ["keep": 1]], "retention.keep"),
                           (["http": 5573], "http")] {
            do {
                _ = try ServerConfigFile(json: bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.code == ErrorCode.invalidConfig)
                #expect(error.field == key)
            }
        }
    }

    @Test func unknownOrWrongKeysNameTheKey() throws {
        #expect(throws: AbmError.self) { try ServerConfigFile(json: ["nope": 1]) }
        do {
            _ = try ServerConfigFile(json: ["runtime": ["max_resident_campaigns": 0]])
            Issue.record("accepted a zero cap")
        } catch {
            #expect(error.field == "runtime.max_resident_campaigns")
        }
        do {
            _ = try ServerConfigFile(json: ["campaign": ["max_touchpoints": "many"]])
            Issue.record("accepted a bad campaign key")
        } catch {
            #expect(error.code == "invalid_config")
        }
    }
}

/// Runs `/usr/bin/python3 script args…` to its end; its exit status and output
/// (stdout and stderr together).
func runPythonScript(_ script: URL, _ arguments: [String]) async throws -> (Int32, String) {
    let run = try await ChildProcess.run("/usr/bin/python3", [script.path] + arguments, mergingErrors: true)
    return (run.status, run.stdout)
}
