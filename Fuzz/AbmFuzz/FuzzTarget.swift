import AbmWire
import CampaignGateway
import Foundation
@testable import CampaignCore

/// The fuzzed entry points. Each takes any bytes; a crash, a sanitizer report or a broken property
/// (`check`) is a finding. The properties are the ones a user relies on, not mere "does not crash":
/// a parsed document writes back to the same value; a refusal names a stable code; a compiled template
/// renders exactly what swift-mustache renders.
enum FuzzTarget: String, CaseIterable {
    /// `WireDecoder` on the ingress and control sockets (the body frame after the delimiter).
    case wire
    /// A lead body through the engine: `LeadParser`, then the touches it schedules, rendered.
    case lead
    /// `JSONParser`, and `JSONWriter` round trip of whatever it accepts.
    case json
    /// Template validation and compilation (`TemplateSet.compile`) and `FastTemplate` rendering.
    case template

    func run(_ data: [UInt8]) {
        switch self {
        case .wire: Self.wire(data)
        case .lead: Self.lead(data)
        case .json: Self.json(data)
        case .template: Self.template(data)
        }
    }

    /// A broken property: stops the run the way a crash does, so libFuzzer saves the input.
    static func check(_ condition: @autoclosure () -> Bool, _ what: @autoclosure () -> String) {
        if !condition() { fatalError("property failed: \(what())") }
    }

    static let decoder = WireDecoder()

    static func wire(_ data: [UInt8]) {
        for control in [false, true] {
            do {
                let request = control ? try decoder.decodeControl([[], data]) : try decoder.decodeIngress([[], data])
                check(!request.id.isEmpty && request.id.utf8.count <= WireLimits.maxIdBytes, "decoded id within limits")
            } catch {
                check(!error.code.rawValue.isEmpty && !error.message.isEmpty, "a refusal has a code and a message")
                // The refusal goes back to the client: it must be valid JSON that reads back the same.
                let ack = Ack.rejected(error)
                let back = Ack.decode(ack.encode())
                check(back == ack, "rejection ack round trip: \(ack)")
            }
        }
    }

    static let engine = CampaignEngine()
    static let start = Date(timeIntervalSince1970: 1_780_000_000)

    static func lead(_ data: [UInt8]) {
        guard let value = try? JSONParser.parse(data) else { return }
        var state = AccountState(accountId: "fuzz")
        var now = start
        guard case .success(let t) = engine.handle(state, .lead(value), now: now) else { return }
        state = t.state
        // Fire the timers it schedules: every touch renders a message from the lead's words.
        var due = t.effects.lastTimer
        var fired = 0
        while let at = due, fired < 8 {
            now = max(now, at)
            guard case .success(let next) = engine.handle(state, .timerFired(dueAt: at), now: now) else {
                check(false, "a timer firing failed")
                return
            }
            state = next.state
            due = next.effects.lastTimer
            fired += 1
        }
        _ = engine.status(state, now: now)
    }

    static func json(_ data: [UInt8]) {
        guard let value = try? JSONParser.parse(data) else { return }
        let written = JSONWriter.encode(value)
        guard let again = try? JSONParser.parse(written) else {
            check(false, "writer output does not parse: \(String(decoding: written, as: UTF8.self))")
            return
        }
        check(again == value, "round trip changed the value")
    }

    /// Input: the template text, then up to 16 values, separated by NUL bytes.
    static func template(_ data: [UInt8]) {
        let parts = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard let text = parts.first, let compiled = try? TemplateSet.compile(text, key: "t") else { return }
        var values = [String](repeating: "", count: FastTemplate.slotCount)
        var context: [String: String] = [:]
        for slot in 0..<FastTemplate.slotCount {
            var v = slot + 1 < parts.count ? parts[slot + 1] : ""
            // Always-filled variables are never empty (the renderer's contract); optional ones may be absent.
            if v.isEmpty && !FastTemplate.optionalSlots.contains(slot) { v = "v\(slot)" }
            values[slot] = v
            if !v.isEmpty { context[FastTemplate.variables[slot]] = v }
        }
        let fast = compiled.renderChecked(values).text
        let reference = compiled.template.render(context)
        check(fast == reference, "FastTemplate differs from swift-mustache")
    }
}

extension [Effect] {
    /// The timer the transition leaves pending, if any.
    var lastTimer: Date? {
        var due: Date?
        for effect in self {
            switch effect {
            case .schedule(let at): due = at
            case .cancelTimer: due = nil
            default: break
            }
        }
        return due
    }
}
