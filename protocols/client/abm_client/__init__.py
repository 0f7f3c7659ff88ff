"""A small Python client for the abm wire protocol v1 (protocols/abm-wire-v1.md).

Library:

    from abm_client import AbmClient
    with AbmClient() as c:                                  # default endpoints 5570/5571/5572
        ack = c.send_lead({"account_id": "acme", "email": "sarah@acme.example"})
        for ack in c.send_leads(leads, window=500):         # pipelined, acks matched by id
            ...
        c.pause("acme", reason="legal review")              # control: raises AbmError on ok:false
        for topic, event in c.subscribe(["touchpoint.due"], after_seq=0):
            ...                                             # gap-free: missing seqs are replayed

    keys = load_curve("server.pub", "producer-1.key")      # a CURVE server (protocol §13)
    with AbmClient(curve=keys) as c: ...

Install: `pip install ./protocols/client` (offline: `--no-build-isolation`, with Debian's python3-setuptools
and python3-wheel). The command line is `abm-client` (or `python3 -m abm_client`).

CLI (JSON lines out):  abm-client [--ingress E] [--control E] [--events E]
                                     [--server-key Z85|FILE --key FILE] COMMAND …
    lead FILE|-          send one lead (a JSON object, the `lead` payload)
    leads FILE|-         send many leads, one JSON object per line, pipelined
    respond ACCOUNT KIND (--email E | --contact-id I) [--channel C] [--text T] [--return-date D]
    pause ACCOUNT [--reason R] | resume ACCOUNT | cancel ACCOUNT | status ACCOUNT
    events [--after N] [--limit L] | advance SECONDS | tail [PREFIX …] [--after N]

Needs pyzmq (Debian: python3-zmq, for /usr/bin/python3).

The words a worker acts on are the closed lists below (the schemas' enums; tests check they agree):
RESPONSE_KINDS, EVENT_TYPES, CHANNELS, CAMPAIGN_STATUSES, CONTACT_STATES, TOUCH_REASONS,
SUPPRESSION_REASONS, COMPLETION_REASONS, CONFLICT_KINDS, ERROR_CODES. What each response does:
docs/campaign-behaviour.md.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import uuid

from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import zmq
import zmq.utils.z85

__all__ = [
    "AbmClient", "AbmError", "load_curve", "read_key_file", "main",
    "RESPONSE_KINDS", "EVENT_TYPES", "CHANNELS", "CAMPAIGN_STATUSES", "CONTACT_STATES", "TOUCH_REASONS",
    "SUPPRESSION_REASONS", "COMPLETION_REASONS", "CONFLICT_KINDS", "DELAY_RULES", "ERROR_CODES",
]

#: A JSON object as json.loads returns it.
JSON = Dict[str, Any]
#: The CURVE keys of a client: {"server_public", "public", "secret"}, Z85 text.
Curve = Dict[str, str]

# The protocol's words (protocols/abm-wire-v1.md; the same lists as schemas/common.schema.json).
RESPONSE_KINDS = ("reply", "meeting_scheduled", "negative", "unsubscribe", "bounce", "out_of_office")
EVENT_TYPES = ("campaign.started", "contact.added", "touchpoint.due", "response.received", "campaign.paused",
               "campaign.resumed", "campaign.completed", "campaign.cancelled", "contact.suppressed",
               "conflict.detected", "contact.erased", "campaign.migrated")
CHANNELS = ("email", "sms", "call", "linkedin")
CAMPAIGN_STATUSES = ("active", "paused", "completed", "cancelled")
CONTACT_STATES = ("new", "in_play", "out_of_office", "replied", "meeting_scheduled", "negative", "unsubscribed",
                  "bounced", "suppressed", "blocked", "erased")
TOUCH_REASONS = ("focus_step", "introduce_colleague", "round_robin")
SUPPRESSION_REASONS = ("unsubscribed", "bounced", "suppressed")
COMPLETION_REASONS = ("max_touchpoints", "no_eligible_contacts", "meeting_scheduled")
CONFLICT_KINDS = ("suppressed", "message_not_clean", "meeting_scheduled")
#: What set a touch's time later than the earliest it could go (`delay`).
DELAY_RULES = ("interval", "response_timeout", "out_of_office", "colleague_delay", "send_window", "holiday",
               "other_playbook")
#: Codes a server sends; a client must also accept codes it does not know (a newer server's).
ERROR_CODES = ("bad_framing", "invalid_json", "missing_field", "invalid_field", "unknown_type", "not_found",
               "invalid_state", "invalid_config", "not_virtual_clock", "not_owner", "internal", "rate_limited",
               "events_pruned")

DEFAULT_INGRESS = "tcp://127.0.0.1:5570"
DEFAULT_CONTROL = "tcp://127.0.0.1:5571"
DEFAULT_EVENTS = "tcp://127.0.0.1:5572"
MAX_EVENTS_LIMIT = 1000


def read_key_file(path: str) -> List[str]:
    """The Z85 keys of a key file (`abm keygen` output or an allow-list): one a line, `#` comments.

    `#` is a Z85 character, so as in the server a line is a comment when its first word is not a key
    and starts with `#`. Raises ValueError naming the file and line.
    """
    keys = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            words = line.split()
            if not words:
                continue
            if len(words[0]) == 40 and _is_z85(words[0]):
                if len(words) > 1 and not words[1].startswith("#"):
                    raise ValueError(f"{path}:{number}: text after the key that is not a # comment")
                keys.append(words[0])
            elif not words[0].startswith("#"):
                raise ValueError(f"{path}:{number}: not a Z85 CURVE key (40 characters expected, got {len(words[0])})")
    return keys


def _is_z85(text: str) -> bool:
    try:
        zmq.utils.z85.decode(text)
        return True
    except Exception:
        return False


def _single_key(path: str) -> str:
    keys = read_key_file(path)
    if len(keys) != 1:
        raise ValueError(f"{path}: must hold exactly one key, found {len(keys)}")
    return keys[0]


def load_curve(server_key: str, key_file: str) -> Curve:
    """The `curve` dict for AbmClient: `server_key` is the server's Z85 public key or a file holding it
    (NAME.pub), `key_file` this client's secret key file (NAME.key); its public key is derived."""
    if len(server_key) == 40 and not os.path.exists(server_key) and _is_z85(server_key):
        server_public = server_key
    else:
        server_public = _single_key(server_key)
    secret = _single_key(key_file)
    public = zmq.curve_public(secret.encode("ascii")).decode("ascii")
    return {"server_public": server_public, "public": public, "secret": secret}


def _set_curve(sock: zmq.Socket, curve: Curve) -> None:
    """Makes `sock` a CURVE client; keys are Z85 text (str or bytes)."""
    as_bytes = lambda k: k.encode("ascii") if isinstance(k, str) else k
    sock.curve_serverkey = as_bytes(curve["server_public"])
    sock.curve_publickey = as_bytes(curve["public"])
    sock.curve_secretkey = as_bytes(curve["secret"])


class AbmError(Exception):
    """A control command answered with ok:false (or an unusable reply). `code` is the stable error code."""

    def __init__(self, code: str, message: str, field: Optional[str] = None, reply: Optional[JSON] = None):
        super().__init__(f"{code}: {message}" + (f" ({field})" if field else ""))
        self.code, self.message, self.field, self.reply = code, message, field, reply


def encode(body: JSON) -> bytes:
    """The body frame: compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class _Channel:
    """One DEALER to a ROUTER endpoint: `[empty][body]` out, replies matched by `id`."""

    def __init__(self, ctx, endpoint, timeout, curve, hwm):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        # Raise the high-water marks above any window we use, so nothing is dropped or blocks early.
        self.sock.sndhwm = hwm
        self.sock.rcvhwm = hwm
        if curve:
            _set_curve(self.sock, curve)
        self.sock.connect(endpoint)
        self.timeout = timeout
        self.pending = {}  # replies that arrived for ids nobody is waiting for yet
        self.unmatched = []  # replies with id null (requests the server could not read)

    def send(self, body):
        self.sock.send_multipart([b"", encode(body)])

    def recv(self, timeout=None):
        """The next reply (any id), or raise TimeoutError."""
        t = self.timeout if timeout is None else timeout
        if not self.sock.poll(None if t is None else int(t * 1000)):
            raise TimeoutError(f"no reply within {t:.3g} s")
        frames = self.sock.recv_multipart()
        if len(frames) != 2 or frames[0] != b"":
            raise AbmError("bad_framing", f"reply is not [empty][body]: {len(frames)} frames")
        return json.loads(frames[1].decode("utf-8"))

    def wait_for(self, rid):
        if rid in self.pending:
            return self.pending.pop(rid)
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            reply = self.recv(left)
            got = reply.get("id")
            if got == rid:
                return reply
            if got is None:
                self.unmatched.append(reply)
            else:
                self.pending[got] = reply

    def call(self, body):
        self.send(body)
        return self.wait_for(body["id"])

    def close(self):
        self.sock.close(0)


class AbmClient:
    """Client for the three sockets. Not thread-safe (ZeroMQ sockets are not): one client per thread.

    `curve`, when given, is a dict of Z85 keys `{server_public, public, secret}` for CURVE endpoints.
    """

    def __init__(self, ingress: str = DEFAULT_INGRESS, control: str = DEFAULT_CONTROL, events: str = DEFAULT_EVENTS,
                 context: Optional[zmq.Context] = None, timeout: Optional[float] = 10.0, curve: Optional[Curve] = None,
                 hwm: int = 100_000) -> None:
        self.endpoints = {"ingress": ingress, "control": control, "events": events}
        self.ctx = context or zmq.Context.instance()
        self.timeout, self.curve, self.hwm = timeout, curve, hwm
        self._channels = {}

    def _channel(self, name):
        if name not in self._channels:
            self._channels[name] = _Channel(self.ctx, self.endpoints[name], self.timeout, self.curve, self.hwm)
        return self._channels[name]

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()

    def __enter__(self) -> "AbmClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- ingress: returns acks (dicts); a rejected ack is returned, not raised -----

    def send_lead(self, lead: JSON, id: Optional[str] = None) -> JSON:
        """Send one lead; returns its ack once the server has stored it (or refused it)."""
        return self._channel("ingress").call({"type": "lead", "id": id or new_id("lead"), "lead": lead})

    def send_response(self, account_id: str, kind: str, contact_email: Optional[str] = None,
                      contact_id: Optional[str] = None, channel: Optional[str] = None, text: Optional[str] = None,
                      return_date: Optional[str] = None, id: Optional[str] = None) -> JSON:
        """Send a response (`kind` one of RESPONSE_KINDS; `contact_email` or `contact_id`); returns its ack."""
        body = {"type": "response", "id": id or new_id("resp"), "account_id": account_id, "kind": kind}
        for key, value in (("contact_email", contact_email), ("contact_id", contact_id), ("channel", channel),
                           ("text", text), ("return_date", return_date)):
            if value is not None:
                body[key] = value
        return self._channel("ingress").call(body)

    def send_leads(self, leads: Iterable[JSON], window: int = 1000, ids: Optional[Iterable[str]] = None) -> Iterator[JSON]:
        """Pipeline leads over one DEALER: up to `window` requests in flight, acks matched by id.

        `leads` is any iterable of lead objects; `ids` an optional iterable of request ids (else fresh
        ones). Yields acks in the order they arrive (each carries its `id`). Ids must be unique within
        the call: a repeated id is answered by one ack per request, all with that id.
        """
        ch = self._channel("ingress")
        ids = iter(ids) if ids is not None else (new_id("lead") for _ in itertools.count())
        in_flight = {}
        source = iter(leads)
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < window:
                try:
                    lead = next(source)
                except StopIteration:
                    exhausted = True
                    break
                rid = next(ids)
                ch.send({"type": "lead", "id": rid, "lead": lead})
                in_flight[rid] = in_flight.get(rid, 0) + 1
            if not in_flight:
                return
            ack = ch.recv()
            rid = ack.get("id")
            if rid in in_flight:
                in_flight[rid] -= 1
                if not in_flight[rid]:
                    del in_flight[rid]
                yield ack
            elif rid is None:
                ch.unmatched.append(ack)
            else:
                ch.pending[rid] = ack

    # ----- control: returns the reply; ok:false raises AbmError -----

    def command(self, type_: str, id: Optional[str] = None, **fields: Any) -> JSON:
        """Send a control command; returns the `ok:true` reply, raises AbmError on `ok:false`."""
        body = {"type": type_, "id": id or new_id(type_.replace(".", "-"))}
        body.update({k: v for k, v in fields.items() if v is not None})
        reply = self._channel("control").call(body)
        if reply.get("type") != "reply":
            raise AbmError("internal", f"unexpected reply {reply!r}", reply=reply)
        if not reply.get("ok"):
            err = reply.get("error") or {}
            raise AbmError(err.get("code", "internal"), err.get("message", ""), err.get("field"), reply)
        return reply

    def pause(self, account_id: str, reason: Optional[str] = None, id: Optional[str] = None) -> JSON:
        """Pause the account's campaign; returns the `campaign` object (protocol §7.3)."""
        return self.command("pause", id=id, account_id=account_id, reason=reason)["campaign"]

    def resume(self, account_id: str, id: Optional[str] = None) -> JSON:
        return self.command("resume", id=id, account_id=account_id)["campaign"]

    def cancel(self, account_id: str, id: Optional[str] = None) -> JSON:
        return self.command("cancel", id=id, account_id=account_id)["campaign"]

    def status(self, account_id: str, id: Optional[str] = None) -> JSON:
        return self.command("status", id=id, account_id=account_id)["campaign"]

    def events(self, after_seq: int = 0, limit: int = 100, id: Optional[str] = None) -> JSON:
        """One page of the event log: the reply, with `events` (seq > after_seq) and `last_seq`."""
        return self.command("events", id=id, after_seq=after_seq, limit=limit)

    def list(self, status=None, parked=None, account_prefix=None, after=None, limit=100, id=None):
        """One page of campaigns by account id: the reply, with `campaigns` and `next` (the `after` of the
        next page, None on the last one)."""
        fields = {"limit": limit}
        for key, value in (("status", status), ("parked", parked), ("account_prefix", account_prefix), ("after", after)):
            if value is not None:
                fields[key] = value
        return self.command("list", id=id, **fields)

    def stats(self, id=None):
        """Counts: campaigns by status, resident/passivated, parked, timers, outbox."""
        return self.command("stats", id=id)

    def campaigns(self, account_id: str, id: Optional[str] = None) -> list:
        """The account's campaigns, earlier ones included, oldest first (§7.13)."""
        return self.command("campaigns", id=id, account_id=account_id)["campaigns"]

    def explain(self, account_id: str, id: Optional[str] = None) -> JSON:
        """The campaign's decisions in order with the rule each followed, and the planned touch (§7.10)."""
        return self.command("explain", id=id, account_id=account_id)["explanation"]

    def preview(self, account_id: Optional[str] = None, lead: Optional[JSON] = None, id: Optional[str] = None) -> JSON:
        """The next touch rendered, storing nothing: of a campaign, or of a lead not yet sent (§7.11)."""
        fields = {"account_id": account_id} if lead is None else {"lead": lead}
        return self.command("preview", id=id, **fields)["preview"]

    def step(self, account_id: str, id: Optional[str] = None) -> JSON:
        """Run the campaign's planned touch now (an operator's override, §7.12); returns the campaign."""
        return self.command("step", id=id, account_id=account_id)["campaign"]

    def erase(self, email: str, id: Optional[str] = None) -> JSON:
        """Erase a person's personal data (§7.9); returns the reply's `erased` object
        ({email_sha256, accounts, events, replies}). Idempotent."""
        return self.command("erase", id=id, email=email)["erased"]

    def migrate(self, playbook: str, to_version: int, account_id: Optional[str] = None, id: Optional[str] = None) -> JSON:
        """Running campaigns of a playbook (or one account's) take up `to_version` at their next step (§7.14);
        returns the reply's `migrated` object ({playbook, to_version, campaigns})."""
        fields = {"playbook": playbook, "to_version": to_version}
        if account_id is not None:
            fields["account_id"] = account_id
        return self.command("migrate", id=id, **fields)["migrated"]

    def playbooks(self, id: Optional[str] = None) -> list:
        """The playbooks and their versions (§7.14): [{name, latest, versions, accepts_leads, definition}]."""
        return self.command("playbooks", id=id)["playbooks"]

    def clock_advance(self, seconds: float, id: Optional[str] = None) -> str:
        """Advance the virtual clock; returns the new time (ISO-8601). Needs `--virtual-clock`."""
        return self.command("clock.advance", id=id, seconds=seconds)["now"]

    def replay(self, after_seq: int = 0, up_to: Optional[int] = None, limit: int = MAX_EVENTS_LIMIT) -> Iterator[JSON]:
        """Yield stored events with seq > after_seq (and <= up_to when given), in order, page by page."""
        while up_to is None or after_seq < up_to:
            page = self.events(after_seq=after_seq, limit=limit)["events"]
            for event in page:
                if up_to is not None and event["seq"] > up_to:
                    return
                yield event
                after_seq = event["seq"]
            if len(page) < limit:
                return

    # ----- events -----

    def subscribe(self, prefixes: Iterable[str] = ("",), after_seq: Optional[int] = None, detect_gaps: bool = True,
                  idle_timeout: Optional[float] = None) -> Iterator[Tuple[str, JSON]]:
        """Yield `(topic, event)` from the events socket.

        With `detect_gaps` (the default) the SUB takes every event and filters by `prefixes` here, so
        that it sees every `seq`: when one jumps (a lost message, a late join, a server restart), the
        missing events are fetched with control `events` and yielded first, in order; an event with a
        seq already seen is dropped. `after_seq` starts from a known position: everything after it is
        replayed first (pass 0 for the whole log). Without `detect_gaps` the SUB filters by prefix
        and events are yielded as they come. `idle_timeout` (seconds) ends the generator after that
        long without an event; None waits forever.
        """
        prefixes = [p.encode() if isinstance(p, str) else p for p in (prefixes or [""])]
        sub = self.ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.rcvhwm = self.hwm
        if self.curve:
            _set_curve(sub, self.curve)
        for p in ([b""] if detect_gaps else prefixes):
            sub.setsockopt(zmq.SUBSCRIBE, p)
        sub.connect(self.endpoints["events"])

        def wanted(topic):
            return any(topic.startswith(p) for p in prefixes)

        state = {"last": after_seq}  # the highest seq seen (yielded or filtered out)

        def stored(after, upto=None):
            for ev in self.replay(after, up_to=upto):
                state["last"] = ev["seq"]
                topic = f"{ev['type']}/{ev['account_id']}"
                if wanted(topic.encode()):
                    yield topic, ev

        try:
            if detect_gaps and after_seq is not None:
                # Catch up on the log; live events it already covered are dropped below by seq.
                yield from stored(after_seq)
            while True:
                if not sub.poll(None if idle_timeout is None else int(idle_timeout * 1000)):
                    return
                topic, body = sub.recv_multipart()[:2]
                event = json.loads(body.decode("utf-8"))
                if detect_gaps:
                    seq, last = event["seq"], state["last"]
                    if last is not None and seq <= last:
                        continue  # already yielded (replay overlap or a republished event)
                    if last is not None and seq > last + 1:
                        yield from stored(last, upto=seq - 1)
                    state["last"] = seq
                if wanted(topic):
                    yield topic.decode("utf-8"), event
        finally:
            sub.close(0)


# ----------------------------------------------------------------------- CLI

def _read_json_lines(path):
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ingress", default=os.environ.get("ABM_INGRESS", DEFAULT_INGRESS))
    ap.add_argument("--control", default=os.environ.get("ABM_CONTROL", DEFAULT_CONTROL))
    ap.add_argument("--events", dest="events_ep", default=os.environ.get("ABM_EVENTS", DEFAULT_EVENTS))
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--server-key", default=os.environ.get("ABM_SERVER_KEY"), metavar="Z85|FILE",
                    help="the server's CURVE public key (Z85 or NAME.pub); with --key")
    ap.add_argument("--key", default=os.environ.get("ABM_KEY"), metavar="FILE",
                    help="this client's CURVE secret key file (NAME.key from `abm keygen`)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("lead"); p.add_argument("file"); p.add_argument("--id")
    p = sub.add_parser("leads"); p.add_argument("file"); p.add_argument("--window", type=int, default=1000)
    p = sub.add_parser("respond"); p.add_argument("account"); p.add_argument("kind")
    p.add_argument("--email"); p.add_argument("--contact-id"); p.add_argument("--channel"); p.add_argument("--text")
    p.add_argument("--return-date"); p.add_argument("--id")
    p = sub.add_parser("pause"); p.add_argument("account"); p.add_argument("--reason"); p.add_argument("--id")
    for name in ("resume", "cancel", "status"):
        p = sub.add_parser(name); p.add_argument("account"); p.add_argument("--id")
    p = sub.add_parser("events"); p.add_argument("--after", type=int, default=0); p.add_argument("--limit", type=int, default=100)
    p = sub.add_parser("advance"); p.add_argument("seconds", type=float); p.add_argument("--id")
    p = sub.add_parser("tail"); p.add_argument("prefixes", nargs="*"); p.add_argument("--after", type=int)
    p = sub.add_parser("list"); p.add_argument("--status"); p.add_argument("--parked", action="store_true")
    p.add_argument("--account", help="account id prefix"); p.add_argument("--after"); p.add_argument("--limit", type=int, default=100)
    sub.add_parser("stats")
    a = ap.parse_args(argv)
    if (a.server_key is None) != (a.key is None):
        ap.error("--server-key and --key go together")
    try:
        curve = load_curve(a.server_key, a.key) if a.key else None
    except (OSError, ValueError) as e:
        print(f"abm_client: {e}", file=sys.stderr)
        return 2

    out = lambda obj: print(json.dumps(obj, ensure_ascii=False), flush=True)
    with AbmClient(a.ingress, a.control, a.events_ep, timeout=a.timeout, curve=curve) as c:
        try:
            if a.cmd == "lead":
                out(c.send_lead(next(_read_json_lines(a.file)) if a.file == "-" else json.load(open(a.file)), id=a.id))
            elif a.cmd == "leads":
                for ack in c.send_leads(_read_json_lines(a.file), window=a.window):
                    out(ack)
            elif a.cmd == "respond":
                out(c.send_response(a.account, a.kind, contact_email=a.email, contact_id=a.contact_id, channel=a.channel,
                                    text=a.text, return_date=a.return_date, id=a.id))
            elif a.cmd == "pause":
                out(c.command("pause", id=a.id, account_id=a.account, reason=a.reason))
            elif a.cmd in ("resume", "cancel", "status"):
                out(c.command(a.cmd, id=a.id, account_id=a.account))
            elif a.cmd == "events":
                out(c.events(after_seq=a.after, limit=a.limit))
            elif a.cmd == "advance":
                out(c.command("clock.advance", id=a.id, seconds=a.seconds))
            elif a.cmd == "list":
                out(c.list(status=a.status, parked=True if a.parked else None, account_prefix=a.account,
                           after=a.after, limit=a.limit))
            elif a.cmd == "stats":
                out(c.stats())
            elif a.cmd == "tail":
                for topic, event in c.subscribe(a.prefixes or [""], after_seq=a.after):
                    out({"topic": topic, "event": event})
        except AbmError as e:
            out(e.reply or {"error": {"code": e.code, "message": e.message}})
            return 1
        except TimeoutError as e:
            print(f"abm_client: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    return 0
