"""The abm_client package against a real `abm serve` (virtual clock, ephemeral loopback ports).

The server binary is $ABM_BIN, else the repository's .build/debug/abm (`swift build` makes it); without one
the tests fail, they are never skipped. `make test` installs the package and runs these.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

import abm_client
from abm_client import AbmClient, AbmError, load_curve

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(REPO, "protocols", "tools"))
import validate  # noqa: E402

ABM = os.environ.get("ABM_BIN") or os.path.join(REPO, ".build", "debug", "abm")
T0 = "2026-03-02T09:00:00Z"  # a Monday, 09:00 UTC: inside the default send window


class Server:
    """`abm serve` in a temporary data directory; `endpoints` once it printed `ready`."""

    def __init__(self, *extra, config=None):
        if not os.access(ABM, os.X_OK):
            raise AssertionError(f"no abm binary at {ABM} (run `swift build`, or set ABM_BIN)")
        self.dir = tempfile.mkdtemp(prefix="abm-client-test-")
        args = [ABM, "serve", "--ingress", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                "--events", "tcp://127.0.0.1:*", "--data-dir", os.path.join(self.dir, "data"),
                "--log-level", "warning", "--virtual-clock", T0, *extra]
        if config is not None:
            path = os.path.join(self.dir, "config.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(config, f)
            args += ["--config", path]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr = []
        self._reader = threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True)
        self._reader.start()
        self.endpoints = {}
        for line in self.process.stdout:
            line = line.strip()
            if line == "ready":
                break
            name, _, endpoint = line.partition(" ")
            self.endpoints[name] = endpoint
        else:
            self.process.wait(10)
            raise AssertionError(f"abm serve exited before ready: {''.join(self.stderr)}")

    def client(self, **kw):
        return AbmClient(self.endpoints["ingress"], self.endpoints["control"], self.endpoints["events"], **kw)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(10)
        self.process.stdout.close()
        self.process.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def lead(account, email=None, colleagues=(), **extra):
    body = {"account_id": account, "email": email or f"jane@{account}.example", "name": "Jane Doe",
            "title": "CTO", "timezone": "UTC", "phone": "+14155550100",
            "account_contacts": list(colleagues), "metadata": {"company_name": account.title()}}
    body.update(extra)
    return body


class RealServerTest(unittest.TestCase):
    def setUp(self):
        self.server = Server(config={"campaign": {"touchpoint_intervals_days": [1]}})
        self.addCleanup(self.server.stop)
        self.client = self.server.client(timeout=20)
        self.addCleanup(self.client.close)
        self.validator = validate.Validator()

    def valid(self, schema, message):
        self.assertEqual(self.validator.errors(schema, message), [], f"{schema}: {message}")
        return message

    def test_every_request_and_its_reply(self):
        c = self.client
        colleague = {"id": "acme-c1", "name": "Marcus Webb", "email": "marcus@acme.example", "title": "VP Engineering",
                     "timezone": "UTC"}
        ack = self.valid("ack.schema.json", c.send_lead(lead("acme", colleagues=[colleague]), id="lead-1"))
        self.assertEqual((ack["status"], ack["campaign_id"]), ("accepted", "acme-c1"))
        again = self.valid("ack.schema.json", c.send_lead({"account_id": "other"}, id="lead-1"))
        self.assertEqual((again["status"], again["campaign_id"]), ("duplicate", "acme-c1"))
        # A refusal is an ack, not an exception: code and field name what to fix.
        bad = self.valid("ack.schema.json", c.send_lead(lead("acme", metadata="vip"), id="lead-bad"))
        self.assertEqual((bad["status"], bad["error"]["code"], bad["error"]["field"]),
                         ("rejected", "invalid_field", "lead.metadata"))
        acks = list(c.send_leads((lead(f"bulk-{k}") for k in range(50)), window=16))
        self.assertEqual(len(acks), 50)
        self.assertTrue(all(a["status"] == "accepted" for a in acks))

        self.assertEqual(c.clock_advance(3 * 86400), "2026-03-05T09:00:00.000Z")
        campaign = self.valid("campaign.schema.json", c.status("acme"))
        self.assertEqual(campaign["status"], "active")
        self.assertIn(campaign["contacts"][0]["state"], abm_client.CONTACT_STATES)
        self.assertEqual(c.pause("acme", reason="legal review")["reason"], "legal review")
        self.assertEqual(c.resume("acme")["status"], "active")
        self.assertEqual(c.cancel("bulk-0")["status"], "cancelled")
        with self.assertRaises(AbmError) as refused:
            c.pause("bulk-0")
        self.assertEqual((refused.exception.code, refused.exception.field), ("invalid_state", "account_id"))
        with self.assertRaises(AbmError) as unknown:
            c.status("nobody")
        self.assertEqual(unknown.exception.code, "not_found")
        # Why, what next, and now.
        self.assertTrue(any(d["decision"] == "sent" for d in c.explain("bulk-9")["decisions"]))
        self.assertEqual(c.preview("bulk-9")["touch"]["contact_email"], "jane@bulk-9.example")
        self.assertEqual(c.step("bulk-9")["steps"], 3)
        self.assertEqual([x["campaign_id"] for x in c.campaigns("bulk-9")], ["bulk-9-c1"])
        # Erasure: the person is gone from the account's status; the audit is a hash, never the address.
        erased = c.erase("Jane@bulk-7.example")
        self.assertEqual(erased["accounts"], 1)
        self.assertEqual(len(erased["email_sha256"]), 64)
        jane = c.status("bulk-7")["contacts"][0]
        self.assertEqual((jane["state"], jane["email"], jane["name"]), ("erased", "[erased]", "[erased]"))
        with self.assertRaises(AbmError) as no_address:
            c.erase("jane")
        self.assertEqual((no_address.exception.code, no_address.exception.field), ("invalid_field", "email"))

        # Every response kind, each acknowledged after it is stored.
        for kind, who in [("out_of_office", "marcus@acme.example"), ("bounce", "jane@bulk-1.example"),
                          ("unsubscribe", "jane@bulk-2.example"), ("negative", "jane@bulk-3.example"),
                          ("reply", "jane@acme.example"), ("meeting_scheduled", "jane@acme.example")]:
            account = "acme" if who.endswith("acme.example") else who.split("@")[1].split(".")[0]
            extra = {"return_date": "2026-04-01"} if kind == "out_of_office" else {}
            ack = self.valid("ack.schema.json", c.send_response(account, kind, contact_email=who, channel="email", **extra))
            self.assertEqual(ack["status"], "accepted", ack)
        self.assertEqual(c.status("acme")["status"], "completed")
        self.assertEqual(c.status("acme")["reason"], "meeting_scheduled")

        page = self.valid("events.reply.schema.json", c.events(after_seq=0, limit=5))
        self.assertEqual([e["seq"] for e in page["events"]], [1, 2, 3, 4, 5])
        log = list(c.replay(after_seq=0, limit=7))
        self.assertEqual([e["seq"] for e in log], list(range(1, page["last_seq"] + 1)))
        for event in log:
            self.valid(f"event.{event['type']}.schema.json", event)
        kinds = {e["kind"] for e in log if e["type"] == "response.received"}
        self.assertEqual(kinds, set(abm_client.RESPONSE_KINDS))
        suppressed = {e["reason"] for e in log if e["type"] == "contact.suppressed"}
        self.assertEqual(suppressed, {"bounced", "unsubscribed"})

    def test_subscribe_replays_the_log_then_follows_live_without_gaps_or_repeats(self):
        c = self.client
        for k in range(5):
            c.send_lead(lead(f"early-{k}"))
        before = c.events(after_seq=0, limit=1)["last_seq"]
        self.assertGreater(before, 0)
        stream = c.subscribe(["touchpoint.due"], after_seq=0, idle_timeout=3)
        topic, first = next(stream)  # the replay of the stored log comes first
        self.assertEqual((topic, first["seq"]), (f"touchpoint.due/{first['account_id']}", first["seq"]))
        # More happens while the subscriber is connected: new leads, and the clock moving (more touches).
        with self.server.client(timeout=20) as other:
            for k in range(5):
                other.send_lead(lead(f"late-{k}"))
            other.clock_advance(2 * 86400)
            last = other.events(after_seq=0, limit=1)["last_seq"]
        seen = [first]
        for topic, event in stream:
            self.assertTrue(topic.startswith("touchpoint.due/"))
            seen.append(event)
            if event["seq"] >= last or len(seen) > 1000:
                break
        stream.close()
        seqs = [e["seq"] for e in seen]
        self.assertEqual(seqs, sorted(set(seqs)), "in order, no repeats")
        touches = [e for e in c.replay(0) if e["type"] == "touchpoint.due"]
        self.assertEqual([e["touchpoint_id"] for e in seen], [e["touchpoint_id"] for e in touches],
                         "every touch exactly once: the stored ones, then the live ones")
        self.assertTrue(any(e["account_id"].startswith("late-") for e in seen))
        self.assertTrue(any(e["seq"] > before for e in seen))


class CurveServerTest(unittest.TestCase):
    def test_a_curve_client_works_on_all_three_sockets_and_plaintext_gets_nothing(self):
        keys = tempfile.mkdtemp(prefix="abm-client-keys-")
        self.addCleanup(shutil.rmtree, keys, True)
        for name in ("server", "client"):
            subprocess.run([ABM, "keygen", os.path.join(keys, name)], check=True, capture_output=True)
        allow = os.path.join(keys, "client.pub")
        server = Server("--curve-secret-key", os.path.join(keys, "server.key"), "--allow-producers", allow,
                        "--allow-operators", allow, "--allow-subscribers", allow)
        self.addCleanup(server.stop)
        curve = load_curve(os.path.join(keys, "server.pub"), os.path.join(keys, "client.key"))
        with server.client(timeout=20, curve=curve) as c:
            self.assertEqual(c.send_lead(lead("secure"))["status"], "accepted")
            self.assertEqual(c.status("secure")["status"], "active")
            topic, event = next(c.subscribe([""], after_seq=0, idle_timeout=10))
            self.assertEqual((topic, event["seq"]), ("campaign.started/secure", 1))
        with server.client(timeout=1) as plain:
            with self.assertRaises(TimeoutError):
                plain.status("secure")


if __name__ == "__main__":
    unittest.main()
