import AbmWire
import CampaignCore

/// The accounts `abm demo` feeds through the server: varied titles, time zones, one primary without a
/// phone, colleagues; and the responses it sends on the way.
public enum DemoData {
    /// The virtual clock's start: Monday 2026-03-02 08:00 UTC.
    public static let start = "2026-03-02T08:00:00.000Z"
    /// How long the demo runs on the virtual clock.
    public static let days = 60

    static func contact(_ id: String, _ name: String, _ email: String, _ title: String, _ tz: String,
                        phone: String? = nil, linkedin: String? = nil) -> [String: JSONValue] {
        var c: [String: JSONValue] = ["id": .string(id), "name": .string(name), "email": .string(email),
                                      "title": .string(title), "timezone": .string(tz)]
        if let phone { c["phone"] = .string(phone) }
        if let linkedin { c["linkedin_url"] = .string(linkedin) }
        return c
    }

    static func lead(account: String, company: String, topic: String, primary: [String: JSONValue],
                     colleagues: [[String: JSONValue]]) -> JSONValue {
        var lead = primary
        lead["account_id"] = .string(account)
        lead["topic"] = .string(topic)
        lead["metadata"] = ["company_name": .string(company)]
        lead["account_contacts"] = .array(colleagues.map(JSONValue.object))
        return .object(lead)
    }

    /// Six accounts (lead objects as `abm lead` takes them).
    public static let leads: [JSONValue] = [
        lead(account: "acme-corp", company: "Acme Corp", topic: "data pipeline observability",
             primary: contact("acme-1", "Sarah Chen", "sarah.chen@acme.example", "VP of Engineering", "America/New_York",
                              phone: "+1-212-555-0101", linkedin: "https://www.linkedin.com/in/sarah-chen-acme"),
             colleagues: [
                contact("acme-2", "David Park", "david.park@acme.example", "CTO", "America/New_York", phone: "+1-212-555-0102"),
                contact("acme-3", "Maria Lopez", "maria.lopez@acme.example", "Data Platform Manager", "America/Chicago"),
             ]),
        lead(account: "globex", company: "Globex GmbH", topic: "supply-chain analytics",
             primary: contact("globex-1", "Jonas Weber", "jonas.weber@globex.example", "Director of Operations", "Europe/Berlin",
                              phone: "+49-30-5550-1001"),
             colleagues: [
                contact("globex-2", "Anna Schmidt", "anna.schmidt@globex.example", "CEO", "Europe/Berlin",
                        linkedin: "https://www.linkedin.com/in/anna-schmidt-globex"),
             ]),
        // The primary has no phone: no SMS or call to them.
        lead(account: "initech", company: "Initech", topic: "cloud cost reduction",
             primary: contact("initech-1", "Peter Gibbons", "peter.gibbons@initech.example", "Engineering Manager",
                              "America/Los_Angeles"),
             colleagues: [
                contact("initech-2", "Bill Lumbergh", "bill.lumbergh@initech.example", "VP of Product", "America/Los_Angeles",
                        phone: "+1-415-555-0199"),
                contact("initech-3", "Joanna Smith", "joanna.smith@initech.example", "Finance Manager", "America/Denver"),
             ]),
        lead(account: "umbrella-kk", company: "Umbrella KK", topic: "security compliance automation",
             primary: contact("umbrella-1", "Haruto Sato", "haruto.sato@umbrella.example", "CTO", "Asia/Tokyo",
                              phone: "+81-3-5550-2001"),
             colleagues: [
                contact("umbrella-2", "Yui Tanaka", "yui.tanaka@umbrella.example", "Director of IT Security", "Asia/Tokyo"),
             ]),
        lead(account: "stark-industries", company: "Stark Industries", topic: "predictive maintenance",
             primary: contact("stark-1", "Pepper Potts", "pepper.potts@stark.example", "CEO", "America/Los_Angeles",
                              phone: "+1-310-555-0142", linkedin: "https://www.linkedin.com/in/pepper-potts"),
             colleagues: [
                contact("stark-2", "Happy Hogan", "happy.hogan@stark.example", "Head of Security", "America/New_York"),
             ]),
        lead(account: "wayne-enterprises", company: "Wayne Enterprises", topic: "customer data platform",
             primary: contact("wayne-1", "Lucius Fox", "lucius.fox@wayne.example", "VP of Research", "America/New_York",
                              phone: "+1-212-555-0177"),
             colleagues: [
                contact("wayne-2", "Claire Dubois", "claire.dubois@wayne.example", "Marketing Manager", "Europe/Berlin"),
             ]),
    ]

    /// A response the demo sends once the clock has reached `afterDays`.
    public struct ScriptedResponse: Sendable, Equatable {
        public var afterDays: Int
        public var response: JSONValue
        public var note: String
    }

    /// A colleague of Acme replies (the campaign pauses), an Initech colleague unsubscribes (that
    /// person is suppressed; the campaign goes on with the others).
    public static let responses: [ScriptedResponse] = [
        ScriptedResponse(afterDays: 5, response: [
            "account_id": "acme-corp", "contact_email": "david.park@acme.example", "kind": "reply", "channel": "email",
            "text": "Thanks Sarah looped me in — can we talk next Tuesday?",
        ], note: "a colleague of acme-corp (David Park, CTO) replies"),
        ScriptedResponse(afterDays: 9, response: [
            "account_id": "initech", "contact_email": "bill.lumbergh@initech.example", "kind": "unsubscribe",
            "channel": "email",
        ], note: "initech's Bill Lumbergh unsubscribes"),
    ]
}
