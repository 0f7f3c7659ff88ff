import AbmWire
import Foundation

/// Erasure of a person from stored event bodies (pure; the runtime reads and writes the store).
///
/// An object about the erased address (its `email` or `contact_email` is the address) has every personal
/// field replaced by `Erased.text`: names, address, phone, LinkedIn, title, and the message, subject and
/// call script written to the person. Then, in every string of the body, each of the person's personal
/// strings (address, full name, first name, phone, LinkedIn URL) is replaced where it stands as a whole
/// word: a colleague's message that named the person, a `reference`. Keys and shapes stay as they were, so
/// a rewritten body still follows the protocol's schema.
public enum EventRedaction {
    /// Fields of an object about the erased address that are replaced whole.
    static let personalKeys: Set<String> = [
        "email", "contact_email", "name", "contact_name", "title", "phone", "contact_phone",
        "contact_linkedin_url", "message", "subject", "call_script",
    ]
    static let nameKeys = ["name", "contact_name", "phone", "contact_phone", "contact_linkedin_url"]

    /// The strings that identify a contact in free text: address, full name, first name, phone, LinkedIn.
    public static func personalStrings(of contact: ContactState) -> [String] {
        var strings = [contact.email]
        if contact.name != "Unknown" { strings.append(contact.name) }
        if let first = Normalize.firstName(contact.name) { strings.append(first) }
        if let p = contact.phone { strings.append(p) }
        if let l = contact.linkedinURL { strings.append(l) }
        return strings
    }

    /// The contacts of `state`'s campaigns (those of other playbooks beside it too) with this address, before
    /// an erasure.
    public static func personalStrings(in state: AccountState?, email: String) -> [String] {
        guard let state else { return [] }
        let campaigns = (state.campaign.map { [$0] } ?? []) + state.others
        return campaigns.flatMap(\.contacts).filter { $0.email == email }.flatMap(personalStrings(of:))
    }

    /// The personal strings that the bodies themselves give for the address (names and phones of objects
    /// about it), for events whose contact is no longer in the state.
    public static func personalStrings(inBodies bodies: [[UInt8]], email: String) -> [String] {
        var found: [String] = []
        func visit(_ v: JSONValue) {
            switch v {
            case .object(let o):
                if o["email"]?.stringValue == email || o["contact_email"]?.stringValue == email {
                    for key in nameKeys {
                        guard let s = o[key]?.stringValue, s != Erased.text, s != "Unknown" else { continue }
                        found.append(s)
                        if key.hasSuffix("name"), let first = Normalize.firstName(s) { found.append(first) }
                    }
                }
                o.values.forEach(visit)
            case .array(let a): a.forEach(visit)
            default: break
            }
        }
        for body in bodies { if let v = try? JSONParser.parse(body) { visit(v) } }
        return found
    }

    /// The body with the person erased, or nil when it names nothing of them. `seq` stays first.
    public static func redact(_ body: [UInt8], email: String, personal: [String]) -> [UInt8]? {
        guard case .object(var object)? = try? JSONParser.parse(body), let seq = object["seq"] else { return nil }
        // Longest first, so that a full name is replaced before the first name inside it.
        let needles = Array(Set(personal + [email]).filter { !$0.isEmpty && $0 != Erased.text })
            .sorted { $0.count > $1.count }
        object["seq"] = nil
        let scrubbed = scrub(.object(object), email: email, needles: needles)
        guard case .object(let rest) = scrubbed else { return nil }
        var out = Array(#"{"seq":"#.utf8)
        JSONWriter.write(seq, into: &out)
        for key in JSONWriter.sortedKeys(rest) {
            out.append(0x2C)
            JSONWriter.writeString(key, into: &out)
            out.append(0x3A)
            JSONWriter.write(rest[key]!, into: &out)
        }
        out.append(0x7D)
        return scrubbed == .object(object) ? nil : out
    }

    static func scrub(_ v: JSONValue, email: String, needles: [String]) -> JSONValue {
        switch v {
        case .object(var o):
            let aboutPerson = o["email"]?.stringValue == email || o["contact_email"]?.stringValue == email
            for (key, value) in o {
                if aboutPerson, personalKeys.contains(key), case .string = value {
                    o[key] = .string(Erased.text)
                } else {
                    o[key] = scrub(value, email: email, needles: needles)
                }
            }
            return .object(o)
        case .array(let a):
            return .array(a.map { scrub($0, email: email, needles: needles) })
        case .string(let s):
            return .string(replacingWords(needles, in: s))
        default:
            return v
        }
    }

    /// `s` with each needle replaced by `Erased.text` where it is not part of a longer word.
    static func replacingWords(_ needles: [String], in s: String) -> String {
        var text = s
        for needle in needles {
            var from = text.startIndex
            while let r = text.range(of: needle, options: [.caseInsensitive], range: from..<text.endIndex) {
                let before = r.lowerBound == text.startIndex ? nil : text[text.index(before: r.lowerBound)]
                let after = r.upperBound == text.endIndex ? nil : text[r.upperBound]
                let isWord = !(before.map(isWordCharacter) ?? false) && !(after.map(isWordCharacter) ?? false)
                if isWord {
                    let offset = text.distance(from: text.startIndex, to: r.lowerBound)
                    text.replaceSubrange(r, with: Erased.text)
                    from = text.index(text.startIndex, offsetBy: offset + Erased.text.count)
                } else {
                    from = r.upperBound
                }
            }
        }
        return text
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber }
}
