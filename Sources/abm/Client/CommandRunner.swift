import AbmWire
import AbmClientKit
import CampaignCore

/// Sends a campaign command (pause, resume, cancel, status) and prints the campaign, or the reply
/// as JSON with `json`.
func runCampaignCommand(_ request: JSONValue, connection: ConnectionOptions, json: Bool) throws {
    try runReportingErrors {
        let reply = try connection.client().send(control: request)
        if json { printJSON(reply) }
        try Replies.checkReply(reply)
        if !json, let campaign = reply["campaign"] { print(CampaignText.render(campaign), terminator: "") }
    }
}
