import AbmWire
import CampaignCore
import CampaignRuntime
@testable import CampaignGateway
import Foundation
import Testing

/// Every documented example (protocols/examples/manifest.json) decodes or encodes exactly as documented.
@Suite struct WireExamplesTests {
    let decoder = WireDecoder()

    func decode(_ socket: String, _ frames: [[UInt8]]) throws(AbmError) -> WireRequest {
        socket == "control" ? try decoder.decodeControl(frames) : try decoder.decodeIngress(frames)
    }

    func validEntries(_ kind: String) throws -> [(file: String, json: JSONValue, socket: String?)] {
        try #require(try Repo.manifest["valid"]?.arrayValue).compactMap { e in
            let file = e["file"]!.stringValue!
            guard file.contains(kind) else { return nil }
            return (file, try Repo.json(Repo.examples.appendingPathComponent(file)), e["socket"]?.stringValue)
        }
    }

    @Test func manifestCoversEveryExampleFile() throws {
        let listed = Set(try #require(try Repo.manifest["valid"]?.arrayValue).compactMap { $0["file"]?.stringValue })
            .union(try #require(try Repo.manifest["invalid"]?.arrayValue).compactMap { $0["file"]?.stringValue })
        let onDisk = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.examples.path).filter { $0.hasSuffix(".json") && $0 != "manifest.json" })
            .union(try FileManager.default.contentsOfDirectory(atPath: Repo.examples.appendingPathComponent("invalid").path).map { "invalid/" + $0 })
        #expect(onDisk == listed)
        #expect(listed.count > 60)
    }

    @Test func requestExamplesDecodeAsDocumented() throws {
        let entries = try validEntries(".request.")
        #expect(entries.count == 24)
        for (file, json, socket) in entries {
            let request = try decode(try #require(socket), [[], try Repo.example(file)])
            #expect(request.type == json["type"]?.stringValue, "\(file)")
            #expect(request.id == json["id"]?.stringValue, "\(file)")
            switch request {
            case .lead(_, let account, let lead):
                #expect(json["lead"]?["contact_email"] != nil || lead == json["lead"])
                #expect(account == json["lead"]?["account_id"]?.stringValue
                        ?? json["lead"]?["contact_email"]?.stringValue.map { String($0.split(separator: "@").last!).lowercased() })
            case .response(_, let r):
                #expect(r == ResponseInput(accountId: json["account_id"]!.stringValue!, contactEmail: json["contact_email"]?.stringValue,
                                           contactId: json["contact_id"]?.stringValue, kind: ResponseKind(rawValue: json["kind"]!.stringValue!)!,
                                           channel: json["channel"]?.stringValue, text: json["text"]?.stringValue,
                                           returnDate: json["return_date"]?.stringValue), "\(file)")
            case .pause(_, let account, let reason):
                #expect(account == json["account_id"]?.stringValue)
                #expect(reason == json["reason"]?.stringValue)
            case .resume(_, let account), .cancel(_, let account), .status(_, let account), .explain(_, let account),
                 .step(_, let account), .campaigns(_, let account):
                #expect(account == json["account_id"]?.stringValue)
            case .events(_, let after, let limit):
                #expect(after == json["after_seq"]?.intValue ?? 0)
                #expect(limit == Int(json["limit"]?.intValue ?? 100))
            case .clockAdvance(_, let seconds):
                #expect(.int(Int64(seconds)) == json["seconds"])
            case .list(_, let query):
                #expect(query == CampaignFilter(status: json["status"]?.stringValue.flatMap(CampaignStatus.init(rawValue:)),
                                           parked: json["parked"].flatMap { if case .bool(let b) = $0 { b } else { nil } },
                                           accountPrefix: json["account_prefix"]?.stringValue,
                                           after: json["after"]?.stringValue,
                                           limit: Int(json["limit"]?.intValue ?? 100)), "\(file)")
            case .stats:
                break
            case .forCampaign(let campaign, let inner):
                #expect(campaign == json["campaign_id"]?.stringValue)
                #expect(inner.accountId.map { campaign.hasPrefix($0 + "-c") } == true)
            case .preview(_, let account, let lead):
                #expect(account == json["account_id"]?.stringValue ?? json["lead"]?["account_id"]?.stringValue)
                #expect(lead == json["lead"])
            case .erase(_, let email):
                #expect(email == json["email"]?.stringValue?.lowercased())
            case .migrate(_, let playbook, let version, let account):
                #expect(playbook == json["playbook"]?.stringValue && Int64(version) == json["to_version"]?.intValue)
                #expect(account == json["account_id"]?.stringValue)
            case .playbooks:
                break
            }
        }
    }

    @Test func ackExamplesReencodeByteForByte() throws {
        for (file, json, _) in try validEntries("ack.") {
            let ack = try #require(Ack.decode(try Repo.example(file)), "\(file)")
            #expect(ack.encode() == JSONWriter.encode(json), "\(file)")
        }
    }

    @Test func controlReplyExamplesReencodeByteForByte() throws {
        for (file, json, _) in try validEntries(".reply.") + validEntries("reply.error.") {
            let id = json["id"]?.stringValue
            let encoded: [UInt8]
            if let error = json["error"] {
                encoded = ControlReply.failure(id: id, error: AbmError(
                    code: ErrorCode(error["code"]!.stringValue!), message: error["message"]!.stringValue!, field: error["field"]?.stringValue))
            } else if let campaign = json["campaign"] {
                encoded = ControlReply.ok(id: id!, fields: ["campaign": campaign])
            } else if let campaigns = json["campaigns"], campaigns.arrayValue != nil, json["next"] == nil {
                encoded = ControlReply.ok(id: id!, fields: ["campaigns": campaigns])
            } else if let preview = json["preview"] {
                encoded = ControlReply.ok(id: id!, fields: ["preview": preview])
            } else if let explanation = json["explanation"] {
                encoded = ControlReply.ok(id: id!, fields: ["explanation": explanation])
            } else if let e = json["erased"] {
                encoded = ControlReply.erased(id: id!, ErasureReport(
                    emailSHA256: e["email_sha256"]!.stringValue!, accounts: Int(e["accounts"]!.intValue!),
                    events: Int(e["events"]!.intValue!), replies: Int(e["replies"]!.intValue!)))
            } else if let m = json["migrated"] {
                encoded = ControlReply.migrated(id: id!, MigrationReport(
                    playbook: m["playbook"]!.stringValue!, toVersion: Int(m["to_version"]!.intValue!), campaigns: Int(m["campaigns"]!.intValue!)))
            } else if let playbooks = json["playbooks"] {
                encoded = ControlReply.ok(id: id!, fields: ["playbooks": playbooks])
            } else if let rows = json["campaigns"]?.arrayValue {
                let items = try rows.map { row in
                    CampaignListing.Item(accountId: row["account_id"]!.stringValue!, campaignId: row["campaign_id"]!.stringValue!,
                                         status: try #require(CampaignStatus(rawValue: row["status"]!.stringValue!)),
                                         startedAt: try #require(WireTime.parse(row["started_at"]!.stringValue!)),
                                         statusSince: try #require(WireTime.parse(row["status_since"]!.stringValue!)),
                                         parked: row["parked"] == .bool(true))
                }
                encoded = ControlReply.list(id: id!, CampaignListing(items: items, next: json["next"]?.stringValue))
            } else if let counts = json["campaigns"], let timers = json["timers"], let outbox = json["outbox"] {
                var byStatus: [CampaignStatus: Int] = [:]
                for status in CampaignStatus.allCases { byStatus[status] = Int(counts[status.rawValue]!.intValue!) }
                var stats = CampaignStats(byStatus: byStatus, resident: Int(json["resident"]!.intValue!),
                                          passivated: Int(json["passivated"]!.intValue!),
                                          timersPending: Int(timers["pending"]!.intValue!), timersOverdue: Int(timers["overdue"]!.intValue!),
                                          parked: Int(json["parked"]!.intValue!), outboxLag: outbox["lag"]!.intValue!,
                                          lastSeq: outbox["last_seq"]!.intValue!, publishedSeq: outbox["published_seq"]!.intValue!)
                stats.prunedSeq = outbox["pruned_seq"]!.intValue!
                encoded = ControlReply.stats(id: id!, stats)
            } else if let now = json["now"]?.stringValue {
                encoded = ControlReply.clock(id: id!, now: try #require(WireTime.parse(now)))
            } else {
                let events = try #require(json["events"]?.arrayValue)
                let bodies = try events.map { try numberedBody($0["seq"]!.intValue!, WireEvent.encodeBody(try domainEvent(from: $0))) }
                encoded = ControlReply.events(id: id!, bodies: bodies, lastSeq: json["last_seq"]!.intValue!)
            }
            #expect(try JSONParser.parse(encoded) == json, "\(file)")
            if json["events"] == nil { #expect(encoded == JSONWriter.encode(json), "\(file)") }
        }
    }

    @Test func eventExamplesEncodeWithSeqFirstThenSortedKeys() throws {
        let entries = try validEntries("event.")
        #expect(entries.count == 13)
        var types = Set<String>()
        for (file, json, _) in entries {
            let event = try domainEvent(from: json)
            types.insert(event.type.rawValue)
            let seq = try #require(json["seq"]?.intValue)
            let body = try numberedBody(seq, WireEvent.encodeBody(event))
            #expect(try JSONParser.parse(body) == json, "\(file)")
            let rest = JSONWriter.encode(json.removing("seq"))
            #expect(body == Array("{\"seq\":\(seq),".utf8) + rest.dropFirst(), "\(file)")
            #expect(WireEvent.topic(event) == Array("\(event.type)/\(event.accountId)".utf8))
        }
        #expect(types.count == 12)
    }

    @Test func invalidExamplesAreRefusedWithTheDocumentedCode() throws {
        let entries = try #require(try Repo.manifest["invalid"]?.arrayValue)
        #expect(entries.count >= 40)
        for e in entries {
            let body = try e["file"]?.stringValue.map { try Repo.example($0) } ?? []
            let frames: [[UInt8]] = e["frames"]?.arrayValue?.map { f in
                f.stringValue == "$body" ? body : Array(f.stringValue!.utf8)
            } ?? [[], body]
            let label = "\(e["file"]?.stringValue ?? "-") \(e["note"]?.stringValue ?? "")"
            do {
                let r = try decode(e["socket"]!.stringValue!, frames)
                Issue.record("\(label): decoded as \(r)")
            } catch {
                #expect(error.code.rawValue == e["code"]?.stringValue, "\(label): \(error)")
                #expect(error.field == e["field"]?.stringValue, "\(label): \(error)")
                #expect(error.requestId == e["id"]?.stringValue, "\(label): \(error)")
                #expect(!error.message.isEmpty)
                if let field = error.field { #expect(error.message.contains(field), "\(label): \(error)") }
            }
        }
    }
}
