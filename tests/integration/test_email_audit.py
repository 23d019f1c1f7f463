"""The audit log (§4, GET /admin/audit) and preferences (GET/PUT
/preferences) with email on, against the bellhop binary."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import token  # noqa: E402
from email_case import (RFC3339_MS, ACK_S, MARGIN_S, EARLY_S,  # noqa: E402
                        AUDIT_FIELDS, SERVICE_SUB, uid, address, query,
                        default_prefs, prefs, mid, sleep_until, Ws, SocketIo,
                        SharedServerCase, start_shared, stop_shared)

# One server and sink for this file's SharedServerCase tests.
setUpModule = start_shared
tearDownModule = stop_shared


class AuditTest(SharedServerCase):
    """§4 GET /admin/audit over the paths of §5 and §7."""

    def assert_entry_shape(self, e, host):
        self.assertEqual(set(e), AUDIT_FIELDS, e)
        self.assertRegex(e["at"], RFC3339_MS)
        self.assertEqual(e["hostId"], host)
        self.assertIsInstance(e["notificationId"], int)
        self.assertIn(e["action"], ("created", "pushed", "acked", "emailed",
                                    "email_failed", "read"))
        self.assertIsInstance(e["by"], str)
        self.assertIn(e["via"], ("rest", "ws", "socketio", "email"))
        self.assertTrue(e["session"] is None or isinstance(e["session"], str))

    def test_audit_log_of_push_ack_email_read(self):
        host = uid("h-audit")
        self.put_prefs(host, prefs(address(host)))
        ws = self.connect(host)
        sid = ws.session_id
        n1 = self.notify(host)
        self.expect_frame(ws, n1)
        ws.ack(n1["id"])                      # in time: no email
        n2 = self.notify(host)
        self.expect_frame(ws, n2)             # not acked: emailed
        self.wait_mail(mid(host, n2["id"]), timeout=ACK_S + 5)
        self.wait_audit(host, lambda items: any(
            e["action"] == "emailed" for e in items), timeout=5,
            what="emailed entry")
        ws.ack(n2["id"])                      # late: recorded all the same
        self.mark_read(host, [n1["id"]])
        a1, a2 = n1["id"], n2["id"]
        want = {a1: ["read", "acked", "pushed", "created"],
                a2: ["acked", "emailed", "pushed", "created"]}

        def actions(items, nid):
            return [e["action"] for e in items if e["notificationId"] == nid]

        items = self.wait_audit(host, lambda items: all(
            actions(items, n) == w for n, w in want.items()), timeout=5,
            what="entries %r (newest first)" % want)
        self.assertEqual(len(items), 8, items)
        for e in items:
            self.assert_entry_shape(e, host)
        ats = [e["at"] for e in items]
        self.assertEqual(ats, sorted(ats, reverse=True), "not newest first")
        by_key = {(e["notificationId"], e["action"]): e for e in items}
        for nid in (a1, a2):
            created = by_key[(nid, "created")]
            self.assertEqual((created["by"], created["via"],
                              created["session"]),
                             (SERVICE_SUB, "rest", None), created)
            pushed = by_key[(nid, "pushed")]
            self.assertEqual((pushed["via"], pushed["session"]), ("ws", sid),
                             pushed)
            acked = by_key[(nid, "acked")]
            self.assertEqual((acked["by"], acked["via"], acked["session"]),
                             (host, "ws", sid), acked)
        emailed = by_key[(a2, "emailed")]
        self.assertEqual((emailed["via"], emailed["session"]),
                         ("email", None), emailed)
        read = by_key[(a1, "read")]
        self.assertEqual((read["by"], read["via"], read["session"]),
                         (host, "rest", None), read)
        self.assertNotIn((a1, "emailed"), by_key)
        self.assertEqual(len(self.sink.to(address(host))), 1)

        # notificationId= keeps one notification's entries, newest first.
        page = self.audit(host, notificationId=a2)
        self.assertEqual([e["action"] for e in page["items"]], want[a2])
        self.assertIsNone(page["nextCursor"])
        self.assertEqual(page["items"], [e for e in items
                                         if e["notificationId"] == a2])

        # limit + nextCursor: every entry once, in order, then null.
        for params, expected in (({}, items),
                                 ({"notificationId": a1},
                                  [e for e in items
                                   if e["notificationId"] == a1])):
            for limit in (1, 3):
                got, cursor, pages = [], None, 0
                while True:
                    page = self.audit(host, limit=limit, cursor=cursor,
                                      **params)
                    pages += 1
                    self.assertLessEqual(len(page["items"]), limit)
                    got += page["items"]
                    cursor = page["nextCursor"]
                    if cursor is None:
                        break
                    self.assertIsInstance(cursor, str)
                    self.assertLess(pages, 20, "pagination does not end")
                self.assertEqual(got, expected, "limit=%d %r" % (limit,
                                                                params))
                self.assertEqual(pages, -(-len(expected) // limit))

    def test_an_admins_ack_is_audited_as_the_admins(self):
        host = uid("h-audit-admin")
        note = self.notify(host, "system")
        ws = Ws(self.server.ws_port, token("ops-admin", "admin"),
                hostId=host, after=0)
        self.addCleanup(ws.close)
        self.expect_frame(ws, note)
        ws.ack(note["id"])
        ws.send({"op": "mark-read", "ids": [note["id"]]})
        items = self.wait_audit(
            host, lambda items: {"acked", "read"} <= {e["action"]
                                                      for e in items},
            what="acked and read")
        by = {e["action"]: e["by"] for e in items}
        self.assertEqual(by["acked"], "ops-admin", items)
        self.assertEqual(by["read"], "ops-admin", items)

    def test_replayed_notifications_are_audited_as_pushed(self):
        # §4: `pushed` is a frame sent to a session; a replay (after=) is.
        host = uid("h-audit-replay")
        notes = [self.notify(host, "system") for _ in range(2)]
        ws = Ws(self.server.ws_port, token(host, "host"), after=0)
        self.addCleanup(ws.close)
        for n in notes:
            self.expect_frame(ws, n)
        items = self.wait_audit(host, lambda items: sum(
            e["action"] == "pushed" for e in items) >= 2, timeout=5,
            what="two pushed entries")
        pushed = sorted((e["notificationId"], e["via"], e["session"])
                        for e in items if e["action"] == "pushed")
        self.assertEqual(pushed, [(n["id"], "ws", ws.session_id)
                                  for n in notes], items)

    def test_read_over_the_socket_is_audited_with_its_session(self):
        # §5: "Audit entries of a session carry its sessionId."
        host = uid("h-audit-wsread")
        ws = self.connect(host)
        note = self.notify(host, "system")
        self.expect_frame(ws, note)
        ws.send({"op": "mark-read", "ids": [note["id"]]})
        frame = ws.recv(5)
        self.assertEqual(frame and frame.get("event"), "read", frame)
        self.assertEqual(frame["data"]["ids"], [note["id"]], frame)
        items = self.wait_audit(host, lambda items: any(
            e["action"] == "read" for e in items), timeout=5)
        read = [e for e in items if e["action"] == "read"]
        self.assertEqual(len(read), 1, items)
        self.assertEqual((read[0]["notificationId"], read[0]["by"],
                          read[0]["via"], read[0]["session"]),
                         (note["id"], host, "ws", ws.session_id), read[0])

    def test_socketio_acks_count_and_are_audited(self):
        host = uid("h-sio")
        self.put_prefs(host, prefs(address(host)))
        sio = SocketIo(self.server.ws_port, token(host, "host"))
        self.addCleanup(sio.close)
        self.assertEqual(sio.hello["hostId"], host)
        t0 = time.time()
        n1 = self.notify(host)
        n2 = self.notify(host)
        got = [sio.event(5), sio.event(5)]
        for (name, data, ack_id), n in zip(got, (n1, n2)):
            self.assertEqual((name, data["id"]), (n["type"], n["id"]))
            self.assertIsNotNone(ack_id, "notification event without ack id")
        sio.ack(got[0][2])                    # n1 acked in time, n2 not
        mail = self.wait_mail(mid(host, n2["id"]), timeout=ACK_S + 5)
        self.assertGreaterEqual(mail.at - t0, ACK_S - EARLY_S)
        sleep_until(t0 + ACK_S + MARGIN_S)
        self.assertEqual([m.message_id for m in self.sink.to(address(host))],
                         [mid(host, n2["id"])])
        items = self.wait_audit(host, lambda items: any(
            e["action"] == "emailed" for e in items), timeout=5)
        by_key = {(e["notificationId"], e["action"]): e for e in items}
        for n in (n1, n2):
            pushed = by_key[(n["id"], "pushed")]
            self.assertEqual((pushed["via"], pushed["session"]),
                             ("socketio", sio.sid), pushed)
        acked = by_key[(n1["id"], "acked")]
        self.assertEqual((acked["by"], acked["via"], acked["session"]),
                         (host, "socketio", sio.sid), acked)
        self.assertNotIn((n2["id"], "acked"), by_key)
        self.assertNotIn((n1["id"], "emailed"), by_key)

    def test_audit_is_for_admins(self):
        host = uid("h-audit-auth")
        self.notify(host, "system")
        for tok in (token(host, "host"), token("g-1", "guest"),
                    token(SERVICE_SUB, "service")):
            resp = self.req("GET", query("/admin/audit", hostId=host),
                            token=tok)
            self.assert_error(resp, 403, "forbidden")
        self.assert_error(self.req("GET", query("/admin/audit",
                                                hostId=host)),
                          401, "unauthorized")
        self.assert_error(self.req("GET", "/admin/audit",
                                   token=token("admin-1", "admin")),
                          400, "invalid_request", "hostId")
        items = self.audit(host)["items"]
        self.assertEqual([e["action"] for e in items], ["created"])


class PreferencesTest(SharedServerCase):
    """§4 GET/PUT /preferences."""

    def test_defaults(self):
        host = uid("h-pref-default")
        self.assertEqual(self.get_prefs(host), default_prefs())

    def test_put_replaces_and_get_returns_it(self):
        host = uid("h-pref-put")
        doc = prefs(address(host), delay=86400, digest=True,
                    booking=(False, False), review=(True, True),
                    message=(False, True), system=(True, False))
        self.put_prefs(host, doc)
        self.assertEqual(self.get_prefs(host), doc)
        doc2 = default_prefs()  # back to email null
        self.put_prefs(host, doc2)
        self.assertEqual(self.get_prefs(host), doc2)

    def test_validation_names_the_field(self):
        host = uid("h-pref-bad")
        good = prefs(address(host), delay=5)
        self.put_prefs(host, good)

        def variant(change):
            doc = json.loads(json.dumps(good))
            change(doc)
            return doc

        def drop_category(doc):
            del doc["channels"]["review"]

        def drop_digest(doc):
            del doc["digest"]

        def drop_email(doc):
            del doc["email"]

        def drop_flag(doc):
            del doc["channels"]["system"]["email"]

        cases = [
            ("email", variant(lambda d: d.update(email="nobody.example.org"))),
            ("email", variant(lambda d: d.update(email="a@b@c.org"))),
            ("email", variant(lambda d: d.update(email="root\u0000@x.org"))),
            ("email", variant(lambda d: d.update(email="a\u000b@x.org"))),
            ("email", variant(lambda d: d.update(email="a\u2028b@x.org"))),
            ("email", variant(lambda d: d.update(email="jos\u00e9@x.org"))),
            ("email", variant(lambda d: d.update(email="a b@x.org"))),
            ("email", variant(lambda d: d.update(email="a@x.org>"))),
            ("email", variant(lambda d: d.update(email=42))),
            ("email", variant(drop_email)),
            ("channels.review", variant(drop_category)),
            ("channels.booking", variant(
                lambda d: d["channels"]["booking"].update(realtime="yes"))),
            ("channels.message", variant(
                lambda d: d["channels"]["message"].update(email=1))),
            ("channels.system", variant(drop_flag)),
            ("channels", variant(lambda d: d.pop("channels"))),
            ("emailDelaySeconds", variant(
                lambda d: d.update(emailDelaySeconds=86401))),
            ("emailDelaySeconds", variant(
                lambda d: d.update(emailDelaySeconds=-1))),
            ("emailDelaySeconds", variant(
                lambda d: d.update(emailDelaySeconds="5"))),
            ("emailDelaySeconds", variant(
                lambda d: d.update(emailDelaySeconds=1.5))),
            ("digest", variant(drop_digest)),
            ("digest", variant(lambda d: d.update(digest="true"))),
        ]
        for field, doc in cases:
            with self.subTest(field=field, doc=doc):
                resp = self.req("PUT", "/preferences", doc,
                                token=token(host, "host"))
                err = self.assert_error(resp, 400, "invalid_request")
                got = err.get("field")
                if field.startswith("channels"):
                    # The category (or one of its flags) or the whole map.
                    self.assertTrue(got == "channels" or
                                    (got or "").startswith(field), err)
                    if field != "channels":
                        self.assertIn(field.split(".")[1],
                                      (got or "") + err["message"], err)
                else:
                    self.assertEqual(got, field, err)
        resp = self.req("PUT", "/preferences", raw_body="[1,2]",
                        token=token(host, "host"))
        self.assert_error(resp, 400, "invalid_request")
        resp = self.req("PUT", "/preferences", raw_body="{\"email\":",
                        token=token(host, "host"))
        self.assert_error(resp, 400, "invalid_request")
        self.assertEqual(self.get_prefs(host), good, "a refused PUT changed "
                         "the stored document")

    def test_hosts_see_only_their_own_and_admins_name_one(self):
        a, b = uid("h-pref-a"), uid("h-pref-b")
        doc_b = prefs(address(b), delay=3)
        self.put_prefs(b, doc_b)
        tok_a = token(a, "host")
        self.assert_error(self.req("GET", query("/preferences", hostId=b),
                                   token=tok_a), 403, "forbidden")
        self.assert_error(self.req("PUT", query("/preferences", hostId=b),
                                   prefs(address(a)), token=tok_a),
                          403, "forbidden")
        admin = token("admin-1", "admin")
        resp = self.req("GET", query("/preferences", hostId=b), token=admin)
        self.assert_status(resp, 200)
        self.assertEqual(resp[2], doc_b, "a forbidden PUT changed it")
        resp = self.req("GET", query("/preferences", hostId=a), token=tok_a)
        self.assert_status(resp, 200)
        self.assertEqual(resp[2], default_prefs())
        doc_a = prefs("ops@mail.test", digest=True)
        self.put_prefs(a, doc_a, as_admin=True)
        self.assertEqual(self.get_prefs(a), doc_a)
        self.assert_error(self.req("GET", "/preferences", token=admin),
                          400, "invalid_request", "hostId")
        for tok in (token("g-1", "guest"), token(SERVICE_SUB, "service")):
            self.assert_error(self.req("GET", query("/preferences", hostId=a),
                                       token=tok), 403, "forbidden")
            self.assert_error(self.req("PUT", query("/preferences", hostId=a),
                                       doc_a, token=tok), 403, "forbidden")
        self.assert_error(self.req("GET", "/preferences"), 401,
                          "unauthorized")


if __name__ == "__main__":
    unittest.main(verbosity=2)
