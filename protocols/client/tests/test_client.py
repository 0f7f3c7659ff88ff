"""Tests of the protocol files and of the abm_client package against fake in-process servers (pyzmq inproc).

Run with the package installed (`make test` does) or on PYTHONPATH=protocols/client:
    /usr/bin/python3 -m unittest discover -s protocols/client/tests -v
"""
import json
import os
import re
import sys
import threading
import unittest

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # protocols/
sys.path.insert(0, os.path.join(ROOT, "tools"))

import abm_client  # noqa: E402
from abm_client import AbmClient, AbmError  # noqa: E402
import validate  # noqa: E402

TIMEOUT_MS = 5000


def load_manifest():
    with open(os.path.join(ROOT, "examples", "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


class ProtocolFilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.validator = validate.Validator()  # also checks every schema against the 2020-12 meta-schema
        cls.manifest = load_manifest()
        with open(os.path.join(ROOT, "abm-wire-v1.md"), encoding="utf-8") as f:
            cls.doc = f.read()

    def test_the_packages_words_are_the_schemas(self):
        defs = self.validator.store["common.schema.json"]["$defs"]
        for name, words in [("response_kind", abm_client.RESPONSE_KINDS), ("event_type", abm_client.EVENT_TYPES),
                            ("channel", abm_client.CHANNELS), ("campaign_status", abm_client.CAMPAIGN_STATUSES),
                            ("contact_status", abm_client.CONTACT_STATES), ("touch_reason", abm_client.TOUCH_REASONS),
                            ("suppression_reason", abm_client.SUPPRESSION_REASONS),
                            ("completion_reason", abm_client.COMPLETION_REASONS),
                            ("conflict_kind", abm_client.CONFLICT_KINDS), ("delay_rule", abm_client.DELAY_RULES), ("error_code", abm_client.ERROR_CODES)]:
            self.assertEqual(list(words), defs[name]["enum"], name)

    def test_every_valid_example_matches_its_schema(self):
        self.assertGreaterEqual(len(self.manifest["valid"]), 30)
        for name, schema, instance in validate.example_samples():
            self.assertEqual(name.rsplit(".", 2)[0] + ".schema.json", schema)
            self.assertEqual(self.validator.errors(schema, instance), [], name)

    def test_schemas_reject_what_they_should(self):
        bad = [
            ("ack.schema.json", {"type": "ack", "id": "a", "status": "rejected", "campaign_id": None, "warnings": []}),
            ("ack.schema.json", {"type": "ack", "id": "a", "status": "accepted", "campaign_id": None, "warnings": [],
                                 "error": {"code": "x", "message": "m"}}),
            ("ack.schema.json", {"type": "ack", "id": None, "status": "accepted", "campaign_id": None, "warnings": []}),
            ("lead.request.schema.json", {"type": "lead", "id": "a", "lead": {"email": "x@y.example"}}),
            ("response.request.schema.json", {"type": "response", "id": "a", "account_id": "x", "kind": "reply"}),
            ("events.request.schema.json", {"type": "events", "id": "a", "limit": 1001}),
            ("clock.advance.request.schema.json", {"type": "clock.advance", "id": "a", "seconds": 0}),
            ("event.touchpoint.due.schema.json", {"seq": 1, "type": "touchpoint.due", "at": "2026-03-02T14:00:00Z",
                                                  "account_id": "a", "campaign_id": "c"}),
        ]
        for schema, instance in bad:
            self.assertNotEqual(self.validator.errors(schema, instance), [], f"{schema}: {instance}")

    def test_invalid_examples_name_documented_codes(self):
        documented = set(re.findall(r"^\| `([a-z_]+)` \|", self.doc, re.M))
        self.assertTrue({"bad_framing", "invalid_json", "missing_field", "invalid_field", "unknown_type", "not_found",
                         "invalid_state", "not_virtual_clock", "internal"} <= documented, documented)
        for entry in self.manifest["invalid"]:
            self.assertIn(entry["code"], documented, entry)
            if entry["file"]:
                self.assertTrue(os.path.exists(os.path.join(ROOT, "examples", entry["file"])), entry)

    def test_request_examples_are_not_in_the_invalid_set_by_schema(self):
        # Invalid examples that are JSON objects with a known type fail their request schema too.
        for entry in self.manifest["invalid"]:
            if not entry["file"] or entry.get("frames") or entry["code"] in ("invalid_json", "unknown_type"):
                continue
            with open(os.path.join(ROOT, "examples", entry["file"]), encoding="utf-8") as f:
                body = json.load(f)
            schema = f"{body.get('type')}.request.schema.json"
            if schema in self.validator.store:
                self.assertNotEqual(self.validator.errors(schema, body), [], entry["file"])


class FakeRouter(threading.Thread):
    """A ROUTER on inproc that records requests and answers with `handler(request) -> reply` (or
    collects `batch` requests before answering them all in reverse order, to test ack matching)."""

    def __init__(self, ctx, endpoint, handler, batch=1, count=1):
        super().__init__(daemon=True)
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind(endpoint)
        self.handler, self.batch, self.count = handler, batch, count
        self.frames = []
        self.max_in_flight = 0
        self.error = None

    def run(self):
        try:
            done = 0
            while done < self.count:
                held = []
                while len(held) < min(self.batch, self.count - done):
                    if not self.sock.poll(TIMEOUT_MS):
                        raise TimeoutError("fake router: no request")
                    frames = self.sock.recv_multipart()
                    self.frames.append(frames)
                    held.append(frames)
                self.max_in_flight = max(self.max_in_flight, len(held))
                for frames in reversed(held):
                    identity, delimiter, body = frames
                    assert delimiter == b""
                    reply = self.handler(json.loads(body))
                    self.sock.send_multipart([identity, b"", abm_client.encode(reply)])
                done += len(held)
        except Exception as e:  # surfaced by the test through .error
            self.error = e
        finally:
            self.sock.close(0)


def ack_for(request):
    return {"type": "ack", "id": request["id"], "status": "accepted", "campaign_id": "cmp-" + request["lead"]["account_id"]
            if request["type"] == "lead" else None, "warnings": []}


class ClientTest(unittest.TestCase):
    n = 0

    def setUp(self):
        ClientTest.n += 1
        self.ctx = zmq.Context()
        self.ep = {k: f"inproc://{k}-{ClientTest.n}" for k in ("ingress", "control", "events")}
        self.client = AbmClient(self.ep["ingress"], self.ep["control"], self.ep["events"], context=self.ctx, timeout=5)

    def tearDown(self):
        self.client.close()
        self.ctx.term()

    def serve(self, name, handler, **kw):
        server = FakeRouter(self.ctx, self.ep[name], handler, **kw)
        server.start()
        return server

    def finish(self, server):
        server.join(5)
        self.assertIsNone(server.error)

    def test_send_lead_frames_and_ack(self):
        server = self.serve("ingress", ack_for)
        ack = self.client.send_lead({"account_id": "acme", "email": "s@acme.example"}, id="L1")
        self.finish(server)
        identity, delimiter, body = server.frames[0]
        self.assertEqual(delimiter, b"")
        self.assertEqual(json.loads(body), {"type": "lead", "id": "L1", "lead": {"account_id": "acme", "email": "s@acme.example"}})
        self.assertEqual(ack, {"type": "ack", "id": "L1", "status": "accepted", "campaign_id": "cmp-acme", "warnings": []})
        validate_ok(self, "ack.schema.json", ack)
        validate_ok(self, "lead.request.schema.json", json.loads(body))

    def test_send_response_omits_absent_fields(self):
        server = self.serve("ingress", ack_for)
        self.client.send_response("acme", "out_of_office", contact_id="c-1", return_date="2026-03-16", id="R1")
        self.finish(server)
        body = json.loads(server.frames[0][2])
        self.assertEqual(body, {"type": "response", "id": "R1", "account_id": "acme", "kind": "out_of_office",
                                "contact_id": "c-1", "return_date": "2026-03-16"})
        validate_ok(self, "response.request.schema.json", body)

    def test_pipelined_leads_keep_many_in_flight_and_match_acks_by_id(self):
        server = self.serve("ingress", ack_for, batch=50, count=200)
        leads = [{"account_id": f"acct-{i}"} for i in range(200)]
        acks = list(self.client.send_leads(leads, window=50, ids=(f"id-{i}" for i in range(200))))
        self.finish(server)
        self.assertEqual(server.max_in_flight, 50)  # the server held 50 requests before answering any
        self.assertEqual(sorted(a["id"] for a in acks), sorted(f"id-{i}" for i in range(200)))
        for a in acks:
            self.assertEqual(a["campaign_id"], "cmp-acct-" + a["id"].split("-")[1])
        # Acks came back reversed within each batch: the client matched by id, not by order.
        self.assertEqual(acks[0]["id"], "id-49")

    def test_single_call_skips_stale_replies_of_other_ids(self):
        def handler(req):
            return {"type": "reply", "id": req["id"], "ok": True, "campaign": {"account_id": req["account_id"]}}
        server = self.serve("control", handler, count=2)  # answers "old" before "new" is sent
        ch = self.client._channel("control")
        ch.send({"type": "status", "id": "old", "account_id": "a"})
        self.assertEqual(self.client.status("b", id="new"), {"account_id": "b"})
        self.finish(server)
        self.assertEqual(ch.pending["old"]["campaign"], {"account_id": "a"})

    def test_control_errors_raise_with_code_and_field(self):
        def handler(req):
            return {"type": "reply", "id": req["id"], "ok": False,
                    "error": {"code": "not_found", "message": "no campaign for account `x`", "field": "account_id"}}
        server = self.serve("control", handler)
        with self.assertRaises(AbmError) as cm:
            self.client.pause("x", reason="r")
        self.finish(server)
        self.assertEqual((cm.exception.code, cm.exception.field), ("not_found", "account_id"))
        self.assertEqual(json.loads(server.frames[0][2])["reason"], "r")

    def test_list_and_stats_send_what_they_are_given(self):
        replies = {"list": {"campaigns": [], "next": None}, "stats": {"campaigns": {}}}
        server = self.serve("control", lambda req: dict(replies[req["type"]], type="reply", id=req["id"], ok=True), count=2)
        page = self.client.list(status="paused", parked=False, account_prefix="acme", limit=5, id="ls")
        self.client.stats(id="st")
        self.finish(server)
        sent = [json.loads(f[2]) for f in server.frames]
        self.assertEqual(sent[0], {"type": "list", "id": "ls", "status": "paused", "parked": False,
                                   "account_prefix": "acme", "limit": 5})
        self.assertEqual(sent[1], {"type": "stats", "id": "st"})
        self.assertEqual(page["next"], None)
        validate_ok(self, "list.request.schema.json", sent[0])
        validate_ok(self, "stats.request.schema.json", sent[1])

    def test_timeout_raises(self):
        client = AbmClient(self.ep["ingress"], self.ep["control"], self.ep["events"], context=self.ctx, timeout=0.05)
        sock = self.ctx.socket(zmq.ROUTER)
        sock.bind(self.ep["control"])
        try:
            with self.assertRaises(TimeoutError):
                client.clock_advance(60)
        finally:
            client.close()
            sock.close(0)

    def test_subscribe_fills_seq_gaps_from_replay_and_drops_duplicates(self):
        log = [{"seq": s, "type": "touchpoint.due" if s % 2 else "contact.added", "at": "2026-03-02T14:00:00.000Z",
                "account_id": "acme", "campaign_id": "c"} for s in range(1, 8)]

        def events_handler(req):
            assert req["type"] == "events"
            page = [e for e in log if e["seq"] > req["after_seq"]][: req["limit"]]
            return {"type": "reply", "id": req["id"], "ok": True, "events": page, "last_seq": len(log)}
        control = self.serve("control", events_handler, count=1)

        pub = self.ctx.socket(zmq.XPUB)
        pub.linger = 0
        pub.bind(self.ep["events"])

        def publisher():
            # XPUB hands us the subscription: publish only once the client is really subscribed (no sleep).
            pub.poll(TIMEOUT_MS)
            pub.recv()
            for s in (1, 2, 5, 5, 3, 6):  # 3 and 4 lost, 5 repeated, 3 late
                ev = log[s - 1]
                pub.send_multipart([f"{ev['type']}/acme".encode(), abm_client.encode(ev)])
        t = threading.Thread(target=publisher, daemon=True)
        t.start()
        got = list(self.client.subscribe([""], idle_timeout=0.2))
        t.join(5)
        control.join(5)
        pub.close(0)
        self.assertIsNone(control.error)
        self.assertEqual([e["seq"] for _, e in got], [1, 2, 3, 4, 5, 6])
        self.assertEqual(got[2][0], "touchpoint.due/acme")

    def test_subscribe_with_prefix_filters_locally_but_sees_every_seq(self):
        log = [{"seq": s, "type": "touchpoint.due" if s % 2 else "contact.added", "at": "2026-03-02T14:00:00.000Z",
                "account_id": "acme", "campaign_id": "c"} for s in range(1, 6)]
        pub = self.ctx.socket(zmq.XPUB)
        pub.linger = 0
        pub.bind(self.ep["events"])

        def publisher():
            pub.poll(TIMEOUT_MS)
            pub.recv()
            for ev in log:
                pub.send_multipart([f"{ev['type']}/acme".encode(), abm_client.encode(ev)])
        t = threading.Thread(target=publisher, daemon=True)
        t.start()
        got = list(self.client.subscribe(["touchpoint.due"], idle_timeout=0.2))
        t.join(5)
        pub.close(0)
        self.assertEqual([e["seq"] for _, e in got], [1, 3, 5])  # no gap replay: 2 and 4 were seen

    def test_replay_pages_until_the_end(self):
        log = [{"seq": s} for s in range(1, 6)]

        def handler(req):
            page = [e for e in log if e["seq"] > req["after_seq"]][: req["limit"]]
            return {"type": "reply", "id": req["id"], "ok": True, "events": page, "last_seq": 5}
        server = self.serve("control", handler, count=3)
        self.assertEqual([e["seq"] for e in self.client.replay(0, limit=2)], [1, 2, 3, 4, 5])
        self.finish(server)
        self.assertEqual([json.loads(f[2])["after_seq"] for f in server.frames], [0, 2, 4])

    def test_cli_prints_the_reply_as_a_json_line(self):
        import contextlib
        import io
        ctx = zmq.Context.instance()  # the CLI uses the shared context, so inproc reaches it
        ep = f"inproc://cli-{ClientTest.n}"
        server = FakeRouter(ctx, ep, lambda req: {"type": "reply", "id": req["id"], "ok": False,
                                                  "error": {"code": "invalid_state", "message": "m"}})
        server.start()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = abm_client.main(["--control", ep, "--timeout", "5", "resume", "acme", "--id", "op-1"])
        self.finish(server)
        self.assertEqual(rc, 1)
        self.assertEqual(json.loads(out.getvalue())["error"]["code"], "invalid_state")
        self.assertEqual(json.loads(server.frames[0][2]), {"type": "resume", "id": "op-1", "account_id": "acme"})


_VALIDATOR = None


def validate_ok(test, schema, instance):
    global _VALIDATOR
    _VALIDATOR = _VALIDATOR or validate.Validator()
    test.assertEqual(_VALIDATOR.errors(schema, instance), [])


if __name__ == "__main__":
    unittest.main()
