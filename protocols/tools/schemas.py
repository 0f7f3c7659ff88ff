#!/usr/bin/python3
"""Writes protocols/schemas/*.schema.json (JSON Schema 2020-12), the companion of abm-wire-v1.md.

    schemas.py            rewrite the schema files
    schemas.py --check    exit 1 when a file differs from what this script writes

What the server sends (acks, replies, the campaign object, events) is closed: every object lists its
fields with `additionalProperties: false`, and every word is a closed enum. The vocabulary lists below are
the raw values of the Swift types in Sources/AbmWire (Vocabulary.swift, WireError.swift); the Swift test
`VocabularySchemaTests` fails when the two differ. Requests stay open (a v1 server ignores unknown request
fields, §4), with their constraints.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(os.path.dirname(HERE), "schemas")
BASE = "https://abm.invalid/wire/v1/"

# The words (Sources/AbmWire/Vocabulary.swift, `ErrorCode.protocolCodes`, `Channel`).
VOCABULARY = {
    "error_code": ["bad_framing", "invalid_json", "missing_field", "invalid_field", "unknown_type", "not_found",
                   "invalid_state", "invalid_config", "not_virtual_clock", "not_owner", "internal", "rate_limited",
                   "events_pruned"],
    "channel": ["email", "sms", "call", "linkedin"],
    "response_kind": ["reply", "meeting_scheduled", "negative", "unsubscribe", "bounce", "out_of_office"],
    "event_type": ["campaign.started", "contact.added", "touchpoint.due", "response.received", "campaign.paused",
                   "campaign.resumed", "campaign.completed", "campaign.cancelled", "contact.suppressed",
                   "conflict.detected", "contact.erased", "campaign.migrated"],
    "campaign_status": ["active", "paused", "completed", "cancelled"],
    "contact_status": ["new", "in_play", "out_of_office", "replied", "meeting_scheduled", "negative", "unsubscribed",
                       "bounced", "suppressed", "blocked", "erased"],
    "touch_reason": ["focus_step", "introduce_colleague", "round_robin"],
    "suppression_reason": ["unsubscribed", "bounced", "suppressed"],
    "completion_reason": ["max_touchpoints", "no_eligible_contacts", "meeting_scheduled"],
    "pause_reason": ["responded", "negative_sentiment"],
    "conflict_kind": ["suppressed", "message_not_clean", "meeting_scheduled"],
    "delay_rule": ["interval", "response_timeout", "out_of_office", "colleague_delay", "send_window", "holiday",
                   "other_playbook"],
    "operator_reason": ["operator"],
}

DESCRIPTIONS = {
    "error_code": "A stable error code (§9). A client MUST also accept codes it does not know (§14).",
    "contact_status": "A contact's state in the campaign (§7.3).",
    "touch_reason": "Why this contact takes the step (docs/campaign-behaviour.md, 'Who is touched').",
    "suppression_reason": "unsubscribed: global list; bounced: this campaign only; suppressed: already on the global list.",
    "completion_reason": "Why the campaign completed.",
    "pause_reason": "Why the engine paused the campaign by itself; an operator's pause carries the operator's reason.",
    "conflict_kind": "Which check held a touch back.",
    "delay_rule": "What set a touch's time later than the earliest it could go (docs/campaign-behaviour.md, 'Timing').",
    "operator_reason": "The reason of a command an operator gave without one.",
}


def ref(name):
    return {"$ref": "common.schema.json#/$defs/" + name}


def nullable(schema):
    if "type" in schema and isinstance(schema["type"], str) and len(schema) == 1:
        return {"type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
NONEMPTY = {"type": "string", "minLength": 1}
INT0 = {"type": "integer", "minimum": 0}
INT1 = {"type": "integer", "minimum": 1}
PLAYBOOK = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$", "description": "a playbook's name"}
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "lower-case hex SHA-256 of the lower-case address"}


def closed(properties, required, **extra):
    """An object with exactly these fields."""
    out = {"type": "object", "required": required, "properties": properties, "additionalProperties": False}
    out.update(extra)
    return out


def schema_file(name, title, body, description=None):
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE + name, "title": title}
    if description:
        out["description"] = description
    out.update(body)
    return out


def common():
    defs = {
        "id": {"type": "string", "minLength": 1, "maxLength": 256,
               "description": "Client-chosen request id, the idempotency key (at most 256 UTF-8 bytes; maxLength here counts characters)."},
        "nullable_id": {"type": ["string", "null"], "maxLength": 256,
                        "description": "The request id, or null when the request's id could not be read."},
        "account_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "instant": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
                    "description": "RFC 3339 UTC instant with exactly three fraction digits, e.g. 2026-03-02T14:00:00.000Z."},
        "error": closed({"code": ref("error_code"), "message": STRING,
                         "field": {"type": "string", "description": "Path of the offending field, e.g. lead.account_id."}},
                        ["code", "message"]),
        "opt_string": {"type": ["string", "null"]},
        "contact_in": {"type": "object", "properties": {k: {"type": ["string", "null"]} for k in
                       ["id", "name", "email", "phone", "title", "timezone", "country", "linkedin_url"]}},
    }
    for word, values in VOCABULARY.items():
        defs[word] = {"enum": values}
        if word in DESCRIPTIONS:
            defs[word]["description"] = DESCRIPTIONS[word]
    return schema_file("common.schema.json", "Shared definitions of abm wire protocol v1", {"$defs": defs})


# ---- events -------------------------------------------------------------------------------------------------

def event(type_name, properties, required, **extra):
    base = {"seq": INT1, "type": {"const": type_name}, "at": ref("instant"), "account_id": ref("account_id"),
            "campaign_id": {"type": ["string", "null"]}}
    base.update(properties)
    body = closed(base, ["seq", "type", "at", "account_id", "campaign_id"] + required, **extra)
    return schema_file(f"event.{type_name}.schema.json", f"Event {type_name}", body,
                       "Published as [topic '<type>/<account_id>'][body]; also an item of the events reply. "
                       "Fields: protocols/abm-wire-v1.md §8.2.")


def events():
    touch_if = [
        {"if": {"properties": {"channel": {"const": "email"}}}, "then": {"required": ["subject"]}},
        {"if": {"properties": {"channel": {"enum": ["sms", "call"]}}}, "then": {"required": ["contact_phone"]}},
        {"if": {"properties": {"channel": {"const": "call"}}}, "then": {"required": ["call_script"]}},
        {"if": {"properties": {"channel": {"const": "linkedin"}}}, "then": {"required": ["contact_linkedin_url"]}},
    ]
    out = [
        event("campaign.started", {
            "contacts": {"type": "array", "minItems": 1, "items": closed({
                "id": NONEMPTY, "email": NONEMPTY, "name": STRING, "title": STRING,
                "role": {"enum": ["primary", "colleague"]}, "score": {"type": "integer"}}, ["id", "email", "name", "role"])},
            "topic": {"type": ["string", "null"]}, "company": {"type": ["string", "null"]},
        }, ["contacts", "topic", "company"]),
        event("contact.added", {"contact_id": NONEMPTY, "email": NONEMPTY, "name": STRING, "score": {"type": "integer"}},
              ["contact_id", "email", "name"]),
        event("touchpoint.due", {
            "touchpoint_id": NONEMPTY, "step": INT1, "contact_id": NONEMPTY, "contact_email": NONEMPTY,
            "contact_name": STRING, "contact_phone": STRING, "contact_linkedin_url": STRING,
            "channel": ref("channel"), "attempt": INT1, "subject": STRING, "message": STRING, "call_script": STRING,
            "reference": closed({"contact_id": NONEMPTY, "name": STRING}, ["contact_id", "name"]),
            "reason": ref("touch_reason"), "explanation": STRING, "template_fallback": {"const": True},
            "planned_at": ref("instant"),
            "delay": ref("delay_rule"),
            "operator_step": {"const": True},
        }, ["touchpoint_id", "step", "contact_id", "contact_email", "contact_name", "channel", "attempt", "message",
            "reason", "explanation"], allOf=touch_if),
        event("response.received", {
            "contact_id": {"type": ["string", "null"]}, "email": STRING, "kind": ref("response_kind"),
            "channel": {"type": "string", "maxLength": 64}, "return_at": ref("instant"),
        }, ["contact_id", "email", "kind"],
            allOf=[{"if": {"properties": {"kind": {"const": "out_of_office"}}}, "then": {"required": ["return_at"]},
                    "else": {"not": {"required": ["return_at"]}}}]),
        event("campaign.paused", {"reason": {"type": ["string", "null"], "description":
              "responded, negative_sentiment, meeting_scheduled (a lead said so), operator (an operator's pause "
              "without a reason) or the operator's reason text"}}, ["reason"]),
        event("campaign.resumed", {"reason": ref("operator_reason")}, ["reason"]),
        event("campaign.completed", {"reason": ref("completion_reason"), "steps": INT0}, ["reason", "steps"]),
        event("campaign.cancelled", {"reason": ref("operator_reason")}, ["reason"]),
        event("contact.suppressed", {"contact_id": {"type": ["string", "null"]}, "email": NONEMPTY,
                                     "reason": ref("suppression_reason")}, ["contact_id", "email", "reason"]),
        event("conflict.detected", {"conflict": ref("conflict_kind"), "contact_id": {"type": ["string", "null"]},
                                    "channel": ref("channel")}, ["conflict", "contact_id"]),
        event("contact.erased", {"contact_id": {"type": ["string", "null"]}, "email_sha256": SHA256},
              ["contact_id", "email_sha256"]),
        event("campaign.migrated", {"playbook": PLAYBOOK, "from_version": INT1, "to_version": INT1},
              ["playbook", "from_version", "to_version"]),
    ]
    any_event = schema_file("event.schema.json", "Any event of v1", {
        "oneOf": [{"$ref": f"event.{t}.schema.json"} for t in VOCABULARY["event_type"]]})
    return out + [any_event]


# ---- replies ------------------------------------------------------------------------------------------------

def campaign():
    contact = closed({
        "id": NONEMPTY, "email": NONEMPTY, "name": STRING, "title": STRING, "role": {"enum": ["primary", "colleague"]},
        "score": {"type": "integer"}, "state": ref("contact_status"), "touches": INT0,
        "touches_by_channel": {"type": "object", "propertyNames": ref("channel"), "additionalProperties": INT1},
        "last_touch_at": {"anyOf": [ref("instant"), {"type": "null"}]}, "away_until": ref("instant"),
        "timezone": NONEMPTY,
    }, ["id", "email", "name", "role", "score", "state", "touches", "touches_by_channel", "last_touch_at"])
    next_touch = closed({"contact_id": NONEMPTY, "email": NONEMPTY, "channel": ref("channel"),
                         "reason": ref("touch_reason"), "due_at": ref("instant"),
                         "delay": {"anyOf": [ref("delay_rule"), {"type": "null"}]}},
                        ["contact_id", "email", "channel", "reason", "due_at", "delay"])
    body = closed({
        "campaign_id": NONEMPTY, "account_id": ref("account_id"), "status": ref("campaign_status"),
        "reason": {"type": ["string", "null"], "description": "null when active; a completion_reason when completed; "
                   "operator when cancelled; when paused, a pause_reason, meeting_scheduled, operator or the operator's text"},
        "steps": INT0, "max_touchpoints": INT1, "contacts": {"type": "array", "items": contact},
        "next_due_at": {"anyOf": [ref("instant"), {"type": "null"}]},
        "next_touch": {"anyOf": [next_touch, {"type": "null"}]},
        "started_at": ref("instant"), "topic": {"type": ["string", "null"]}, "company": {"type": ["string", "null"]},
        "parked": {"const": True, "description": "present when the runtime parked the campaign after repeated failures"},
        "failure": closed({"count": INT1, "message": STRING}, ["count", "message"]),
        "playbook": closed({"name": PLAYBOOK, "version": INT1, "migrating_to": {"anyOf": [INT1, {"type": "null"}]}},
                           ["name", "version", "migrating_to"],
                           description="the playbook and version the campaign follows; migrating_to: the version an "
                           "operator's migrate moves it to at its next step (always sent by abm serve)"),
        "others": {"type": "array", "items": {"$ref": "campaign.schema.json"},
                   "description": "campaigns of other playbooks running on the account beside this one (present only then)"},
        "account_next": {"anyOf": [closed({"campaign_id": NONEMPTY, "playbook": PLAYBOOK, "due_at": ref("instant"),
                                           "contact_id": NONEMPTY, "why": STRING},
                                          ["campaign_id", "playbook", "due_at", "contact_id", "why"]), {"type": "null"}],
                         "description": "with others: which campaign holds the account's next touch, and why"},
    }, ["campaign_id", "account_id", "status", "reason", "steps", "max_touchpoints", "contacts", "next_due_at",
        "next_touch", "started_at", "topic", "company"])
    return schema_file("campaign.schema.json", "The campaign object of control replies (§7.3)", body)


def reply_ok(name, title, properties, required):
    props = {"type": {"const": "reply"}, "id": ref("id"), "ok": {"const": True}}
    props.update(properties)
    return schema_file(name, title, closed(props, ["type", "id", "ok"] + required))


def replies():
    ack = closed({
        "type": {"const": "ack"}, "id": ref("nullable_id"), "status": {"enum": ["accepted", "duplicate", "rejected"]},
        "campaign_id": {"type": ["string", "null"]}, "warnings": {"type": "array", "items": STRING},
        "error": ref("error"),
    }, ["type", "id", "status", "campaign_id", "warnings"],
        **{"if": {"properties": {"status": {"const": "rejected"}}},
           "then": {"required": ["error"], "properties": {"campaign_id": {"type": "null"}}},
           "else": {"not": {"required": ["error"]}, "properties": {"id": ref("id")}}})
    out = [schema_file("ack.schema.json", "Acknowledgement of an ingress request", ack,
                       "Sent only after the request is durably stored (accepted), or when it is refused "
                       "(rejected; nothing stored).")]
    for command in ["pause", "resume", "cancel", "status", "step"]:
        out.append(reply_ok(f"{command}.reply.schema.json", f"Reply to {command}",
                            {"campaign": {"$ref": "campaign.schema.json"}}, ["campaign"]))
    out.append(reply_ok("events.reply.schema.json", "Reply to events (replay)", {
        "events": {"type": "array", "maxItems": 1000, "items": {"$ref": "event.schema.json"}},
        "last_seq": INT0}, ["events", "last_seq"]))
    out.append(reply_ok("clock.advance.reply.schema.json", "Reply to clock.advance", {"now": ref("instant")}, ["now"]))
    decision = closed({
        "seq": {"type": ["integer", "null"], "minimum": 1, "description": "the event it comes from; null for the planned touch"},
        "at": {"anyOf": [ref("instant"), {"type": "null"}]},
        "decision": {"enum": ["started", "contact_added", "sent", "delayed", "skipped", "suppressed", "response", "paused",
                              "resumed", "cancelled", "completed", "erased", "planned", "migrated"]},
        "rule": {"type": ["string", "null"], "description": "the rule or reason word the decision followed"},
        "contact_id": {"type": ["string", "null"]}, "text": STRING,
        "values": {"type": "object", "description": "the values the rule used (e.g. step, channel, delay, delay_values)"},
    }, ["seq", "at", "decision", "rule", "contact_id", "text", "values"])
    out.append(reply_ok("campaigns.reply.schema.json", "Reply to campaigns", {"campaigns": {"type": "array", "items": closed({
        "campaign_id": NONEMPTY, "status": ref("campaign_status"), "reason": {"type": ["string", "null"]},
        "started_at": ref("instant"), "ended_at": {"anyOf": [ref("instant"), {"type": "null"}]}, "steps": INT0},
        ["campaign_id", "status", "reason", "started_at", "ended_at", "steps"])}}, ["campaigns"]))
    out.append(reply_ok("explain.reply.schema.json", "Reply to explain", {"explanation": closed({
        "campaign_id": NONEMPTY, "decisions": {"type": "array", "items": decision},
        "next": {"anyOf": [decision, {"type": "null"}]}}, ["campaign_id", "decisions", "next"])}, ["explanation"]))
    touch = {"type": "object", "description": "the touchpoint.due fields (without seq, type, at, account_id, campaign_id) "
             "plus due_at, local_time and timezone (the contact's zone)",
             "required": ["due_at", "local_time", "timezone", "contact_id", "contact_email", "channel", "message", "reason"],
             "properties": {"due_at": ref("instant"), "local_time": STRING, "timezone": NONEMPTY}}
    out.append(reply_ok("preview.reply.schema.json", "Reply to preview", {"preview": closed({
        "touch": {"anyOf": [touch, {"type": "null"}]},
        "conflicts": {"type": "array", "items": {"type": "object", "required": ["type"]}},
        "why_none": STRING}, ["touch", "conflicts"])}, ["preview"]))
    out.append(reply_ok("erase.reply.schema.json", "Reply to erase", {"erased": closed(
        {"email_sha256": SHA256, "accounts": INT0, "events": INT0, "replies": INT0},
        ["email_sha256", "accounts", "events", "replies"])}, ["erased"]))
    out.append(reply_ok("migrate.reply.schema.json", "Reply to migrate", {"migrated": closed(
        {"playbook": PLAYBOOK, "to_version": INT1, "campaigns": INT0}, ["playbook", "to_version", "campaigns"])}, ["migrated"]))
    out.append(reply_ok("playbooks.reply.schema.json", "Reply to playbooks", {"playbooks": {"type": "array", "items": closed({
        "name": PLAYBOOK, "latest": INT1, "versions": {"type": "array", "items": INT1}, "accepts_leads": {"type": "boolean"},
        "definition": {"type": ["object", "null"], "description": "the latest version's campaign keys"}},
        ["name", "latest", "versions", "accepts_leads", "definition"])}}, ["playbooks"]))
    out.append(schema_file("reply.error.schema.json", "A refused control command (ok:false)", closed({
        "type": {"const": "reply"}, "id": ref("nullable_id"), "ok": {"const": False}, "error": ref("error")},
        ["type", "id", "ok", "error"])))
    return out


# ---- requests (open: unknown fields are ignored by the server) -----------------------------------------------

def request(name, description, properties, required, **extra):
    props = {"type": {"const": name}, "id": ref("id")}
    props.update(properties)
    body = {"type": "object", "required": ["type", "id"] + required, "properties": props}
    body.update(extra)
    return schema_file(f"{name}.request.schema.json", f"{name} request", body, description)


def account_command(name, description, properties=None):
    """A command on one account's campaign: `account_id`, or `campaign_id` while it is the current one."""
    props = {"account_id": ref("account_id"), "campaign_id": {"type": "string", "pattern": "^.+-c[0-9]+$", "maxLength": 256}}
    props.update(properties or {})
    return request(name, description, props, [], anyOf=[{"required": ["account_id"]}, {"required": ["campaign_id"]}])


def requests():
    lead_fields = {"account_id": ref("account_id")}
    for k in ["id", "name", "email", "phone", "title", "timezone", "country", "linkedin_url", "topic"]:
        lead_fields[k] = ref("opt_string")
    for k in ["contact_email", "contact_name", "contact_title", "contact_phone", "inquiry_topic", "company_name"]:
        lead_fields[k] = ref("opt_string")
    lead_fields["qualification_tier"] = {"anyOf": [{"type": "string", "pattern": "(?i)^(scorching|hot|warm|cool|cold|unqualified)$"},
                                                   {"type": "null"}]}
    lead_fields["playbook"] = {"anyOf": [PLAYBOOK, {"type": "null"}], "description": "the playbook a new campaign follows (default: default)"}
    lead_fields["account_contacts"] = {"type": ["array", "null"], "items": ref("contact_in")}
    lead_fields["metadata"] = {"type": ["object", "null"], "properties": {
        "company_name": ref("opt_string"),
        "meeting_scheduled": {"type": ["boolean", "string", "null"]}}}
    return [
        request("lead", "Ingress: a lead in the prototype's shape. The gateway checks lead.account_id; the engine "
                "validates the rest. The original system's inbound keys (contact_email, …) are accepted; such a lead "
                "without account_id is for the domain of contact_email.",
                {"lead": {"type": "object", "anyOf": [{"required": ["account_id"]}, {"required": ["contact_email"]}],
                          "properties": lead_fields}}, ["lead"]),
        request("response", "Ingress: a response to the campaign. contact_email or contact_id is required.", {
            "account_id": ref("account_id"), "contact_email": {"type": ["string", "null"], "maxLength": 320},
            "contact_id": {"type": ["string", "null"], "maxLength": 256}, "kind": ref("response_kind"),
            "channel": {"type": ["string", "null"], "maxLength": 64}, "text": {"type": ["string", "null"]},
            "return_date": {"type": ["string", "null"], "maxLength": 64}}, ["account_id", "kind"],
            anyOf=[{"required": ["contact_email"], "properties": {"contact_email": {"type": "string", "minLength": 1}}},
                   {"required": ["contact_id"], "properties": {"contact_id": {"type": "string", "minLength": 1}}}]),
        account_command("pause", "Control: pause an account's campaign.",
                        {"reason": {"type": ["string", "null"], "maxLength": 1024}}),
        account_command("resume", "Control: resume an account's campaign."),
        account_command("cancel", "Control: cancel an account's campaign."),
        account_command("status", "Control: the status of an account's campaign."),
        request("campaigns", "Control: an account's campaigns, earlier ones included, oldest first.",
                {"account_id": ref("account_id")}, ["account_id"]),
        request("events", "Control: replay stored events with seq > after_seq (default 0), at most limit "
                "(default 100, at most 1000).", {
                    "after_seq": {"type": ["integer", "null"], "minimum": 0},
                    "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000}}, []),
        request("clock.advance", "Control: advance the virtual clock (server started with --virtual-clock only).",
                {"seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 315360000}}, ["seconds"]),
        account_command("step", "Control: an operator's override: the campaign's planned touch goes out now."),
        request("preview", "Control: the next touch rendered, storing nothing: of the account's campaign "
                "(account_id), or of a lead not yet sent (lead).", {"account_id": ref("account_id"), "lead": {"type": "object"}},
                [], anyOf=[{"required": ["account_id"]}, {"required": ["lead"]}]),
        account_command("explain", "Control: a campaign's decisions, in order, with the rule each followed, and what "
                        "holds the next touch back."),
        request("erase", "Control: erase a person's personal data (state, stored events, stored replies); the "
                "address stays suppressed as its SHA-256.", {"email": {"type": "string", "minLength": 3, "maxLength": 320,
                                                                       "pattern": ".@."}}, ["email"]),
        request("migrate", "Control: running campaigns of a playbook (or one account's) take up another of its versions "
                "at their next step.", {"playbook": PLAYBOOK, "to_version": INT1, "account_id": ref("account_id")},
                ["playbook", "to_version"]),
        request("playbooks", "Control: the playbooks and their versions.", {}, []),
    ]


def all_schemas():
    files = [common()] + events() + [campaign()] + replies() + requests()
    return {s["$id"][len(BASE):]: s for s in files}


def main(argv):
    check = argv[1:] == ["--check"]
    stale = []
    for name, schema in all_schemas().items():
        text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        path = os.path.join(SCHEMAS, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(name)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    if check and stale:
        print("stale (run protocols/tools/schemas.py):", ", ".join(stale))
        return 1
    print(("checked " if check else "wrote ") + str(len(all_schemas())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
