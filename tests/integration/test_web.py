"""The web page's HTTP side (API.md sections 8 and 9 --demo): static files
with their types and cache headers, /config.json, and /demo and /demo/token
only in demo mode."""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Server, jwt_claims, token  # noqa: E402


class WebCase(unittest.TestCase):
    extra_args = ()
    server_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=cls.extra_args, **cls.server_kwargs)
        cls.http = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.server.cleanup()

    def get(self, path, headers=None):
        return self.http.req("GET", path, headers=headers)

    def assert_not_found(self, path):
        status, headers, body, _ = self.get(path)
        self.assertEqual(status, 404, path)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertEqual(body["error"]["code"], "not_found")


class StaticFilesTest(WebCase):
    def test_root_is_html_revalidated(self):
        status, headers, _, raw = self.get("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertEqual(headers["cache-control"], "no-cache")
        self.assertRegex(headers["etag"], r'^"[0-9a-f]{16}"$')
        self.assertEqual(headers["referrer-policy"], "no-referrer")
        page = raw.decode()
        for hook in ("token-input", "login-button", "badge", "bell",
                     "mark-all-read", "load-more", "connection-status"):
            self.assertIn('data-testid="%s"' % hook, page)
        self.assertIn('aria-live="polite"', page)

    def test_etag_gives_304(self):
        _, headers, _, _ = self.get("/")
        etag = headers["etag"]
        status, headers2, _, raw = self.get(
            "/", headers={"If-None-Match": 'W/"x", ' + etag})
        self.assertEqual(status, 304)
        self.assertEqual(raw, b"")
        self.assertEqual(headers2["etag"], etag)

    def test_assets_have_types_and_versioned_urls(self):
        _, _, _, raw = self.get("/")
        refs = dict(re.findall(
            r'"/([a-z-]+\.(?:js|css|svg))\?v=([0-9a-f]+)"', raw.decode()))
        scripts = {"state.js", "server.js", "login.js", "badge.js",
                   "list.js", "mark-read.js", "toasts.js", "socket.js",
                   "catch-up.js", "polling.js", "app.js"}
        self.assertEqual(set(refs), scripts | {"style.css", "favicon.svg"})
        # The scripts share one scope: each runs after those it builds on.
        order = re.findall(r'<script src="/([a-z-]+\.js)\?v=', raw.decode())
        self.assertEqual(order[0], "state.js")
        self.assertEqual(order[-1], "app.js")
        types = {name: "text/javascript; charset=utf-8" for name in scripts}
        types.update({"style.css": "text/css; charset=utf-8",
                      "favicon.svg": "image/svg+xml"})
        for name, version in refs.items():
            status, headers, _, _ = self.get("/%s?v=%s" % (name, version))
            self.assertEqual(status, 200, name)
            self.assertEqual(headers["content-type"], types[name])
            self.assertIn("max-age=31536000", headers["cache-control"])
            self.assertIn("etag", headers)
            # Without its version (or with an old one) it is revalidated.
            status, headers, _, _ = self.get("/%s?v=old" % name)
            self.assertEqual(status, 200)
            self.assertEqual(headers["cache-control"], "no-cache")

    def test_unknown_files_are_404_in_error_shape(self):
        for path in ("/nope.js", "/web/app.js", "/index.htm", "/app.js/x",
                     "/../CMakeLists.txt"):
            self.assert_not_found(path)

    def test_only_get(self):
        status, _, body, _ = self.http.req("POST", "/", raw_body="{}")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["code"], "not_found")

    def test_config_names_the_ws_port(self):
        status, headers, body, _ = self.get("/config.json")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"wsPort": self.server.ws_port, "demo": False})
        self.assertEqual(headers["cache-control"], "no-store")

    def test_no_demo_without_demo_mode(self):
        for path in ("/demo", "/demo/token", "/demo.html", "/demo.js"):
            self.assert_not_found(path)
        self.assertFalse([line for line in self.server.stdout_lines
                          if '"demo"' in line])

    def test_api_routes_still_win(self):
        status, _, body, _ = self.get("/notifications/count")
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["code"], "unauthorized")


class DemoModeTest(WebCase):
    # No --jwt-secret: demo mode makes one up.
    extra_args = ("--demo",)
    server_kwargs = {"omit": ("--jwt-secret",)}

    def demo_lines(self):
        """The demo lines of stdout; they follow the listening line that the
        harness waited for, so wait for the last one (the page's)."""
        deadline = time.monotonic() + 10
        while True:
            lines = [json.loads(line) for line in self.server.stdout_lines
                     if line.startswith("{")]
            lines = [line for line in lines if line.get("event") == "demo"]
            if any("page" in line for line in lines) or \
                    time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def test_demo_page(self):
        status, headers, _, raw = self.get("/demo")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertIn(b'data-testid="demo-book"', raw)
        status, headers, _, _ = self.get("/demo.js")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"],
                         "text/javascript; charset=utf-8")

    def test_demo_token_is_a_guest_token_that_books(self):
        status, headers, body, _ = self.get("/demo/token")
        self.assertEqual(status, 200)
        self.assertEqual(headers["cache-control"], "no-store")
        claims = jwt_claims(body["token"])
        self.assertEqual(claims["role"], "guest")
        self.assertEqual(claims["sub"], body["guestId"])
        self.assertEqual(body["hosts"], ["h-demo-1", "h-demo-2", "h-demo-3"])
        status, _, created, _ = self.http.req(
            "POST", "/bookings", token=body["token"],
            body={"hostId": "h-demo-2", "roomId": "r-101",
                  "checkIn": "2031-05-01", "checkOut": "2031-05-03",
                  "guests": 2})
        self.assertEqual(status, 201)
        self.assertEqual(created["booking"]["guestId"], body["guestId"])
        # Each call is a new demo guest.
        _, _, again, _ = self.get("/demo/token")
        self.assertNotEqual(again["guestId"], body["guestId"])

    def test_host_links_on_stdout_after_listening(self):
        first = json.loads(self.server.stdout_lines[0])
        self.assertEqual(first["event"], "listening")
        lines = self.demo_lines()
        hosts = [line for line in lines if "host" in line]
        self.assertEqual([h["host"] for h in hosts],
                         ["h-demo-1", "h-demo-2", "h-demo-3"])
        base = "http://127.0.0.1:%d" % self.server.http_port
        for h in hosts:
            self.assertTrue(h["url"].startswith(base + "/?token="))
            jwt = h["url"].split("token=", 1)[1]
            claims = jwt_claims(jwt)
            self.assertEqual((claims["sub"], claims["role"]),
                             (h["host"], "host"))
            self.assertGreater(claims["exp"] - claims["iat"], 7 * 86400)
            status, _, _, _ = self.http.req(
                "GET", "/notifications/count", token=jwt)
            self.assertEqual(status, 200)
        page = [line for line in lines if "page" in line]
        self.assertEqual(page, [{"event": "demo", "page": "/demo",
                                 "url": base + "/demo"}])
        deadline = time.monotonic() + 10
        while base + "/demo" not in self.server.stderr_text() and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(base + "/demo", self.server.stderr_text())

    def test_secret_is_random(self):
        # The harness's secret is not the demo's: its tokens fail.
        status, _, _, _ = self.http.req(
            "GET", "/notifications/count", token=token("h-demo-1", "host"))
        self.assertEqual(status, 401)

    def test_config_says_demo(self):
        _, _, body, _ = self.get("/config.json")
        self.assertEqual(body, {"wsPort": self.server.ws_port, "demo": True})


class DemoWithSecretTest(WebCase):
    extra_args = ("--demo",)

    def test_given_secret_is_used(self):
        status, _, _, _ = self.http.req(
            "GET", "/notifications/count", token=token("h-demo-1", "host"))
        self.assertEqual(status, 200)


class DemoUsageTest(unittest.TestCase):
    def test_demo_refuses_public_keys(self):
        from harness import run_cli
        result = run_cli("serve", "--demo", "--jwt-public-key", "/dev/null",
                         "--http-port", "0", "--ws-port", "0")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--demo", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
