import AbmWire
import AbmClientKit
import CampaignCore

/// Sends a campaign command (pause, resume, cancel, status) and prints the campaign, or the reply
/// as JSON with `json`.
func runCampaignCommand(_ request: JSONValue, connection: ConnectionOptions, json: Bool) throws {
    try runReportingErrors(json: json) {
        let reply = try connection.client().send(control: request)
        if json { printJSON(reply) }
        try Replies.checkReply(reply)
        if !json, let campaign = reply["campaign"] { print(CampaignText.render(campaign), terminator: "") }
    }
}

/// Sends an ingress request and prints its ack: the ack's JSON with `json`, else one line
/// (`accepted acme — campaign 9f…, request l-1` and any warnings).
func runIngressCommand(connection: ConnectionOptions, json: Bool, _ request: () throws(AbmError) -> JSONValue) throws {
    try runReportingErrors(json: json) {
        let ack = try connection.client().send(ingress: try request())
        if json { printJSON(ack) }
        try Replies.checkAck(ack)
        if !json { print(ackLine(ack)) }
    }
}

/// An accepted or duplicate ack as one line for people.
func ackLine(_ ack: JSONValue) -> String {
    var line = ack["status"]?.stringValue ?? "?"
    if let campaign = ack["campaign_id"]?.stringValue { line += " — campaign \(campaign)" }
    if let id = ack["id"]?.stringValue { line += ", request \(id)" }
    for warning in ack["warnings"]?.arrayValue ?? [] {
        line += "\n  warning: " + (warning.stringValue ?? String(decoding: Requests.encode(warning), as: UTF8.self))
    }
    return line
}
