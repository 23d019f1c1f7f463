"""The command line (API.md sections 1 and 9): serve's flags and config
file, token, --help, --version and exit codes."""

import fcntl
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (Client, Server, jwt_claims, make_key,  # noqa: E402
                     run_cli, token)
from rest_case import ContractAssertions  # noqa: E402


class CliTest(ContractAssertions, unittest.TestCase):
    """Section 9: the command line."""

    def test_version_exits_0(self):
        result = run_cli("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.strip())

    def test_help_exits_0(self):
        result = run_cli("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for command in ("serve", "token", "sim", "--version"):
            self.assertIn(command, result.stdout)
        for command in ("serve", "token", "sim"):
            with self.subTest(command=command):
                result = run_cli(command, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("usage: bellhop " + command, result.stdout)

    def test_unknown_option_exits_2(self):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        result = run_cli("serve", "--no-such-flag", "--data-dir", data_dir,
                         "--http-port", "0", "--ws-port", "0", timeout=10)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertTrue((result.stdout + result.stderr).strip())
        for args in (["--version", "--bogus"], ["--help", "--bogus"],
                     ["--version", "extra"], ["--no-such-command"]):
            with self.subTest(args=args):
                result = run_cli(*args)
                self.assertEqual(result.returncode, 2, result.stdout)
                self.assertIn(args[-1], result.stderr)

    def test_a_short_hs256_secret_is_served_with_a_warning(self):
        # RFC 7518 §3.2: 256 bits at least. The contract's examples use
        # short secrets, so the server runs, and says so once at start.
        for secret, warned in (("s" * 31, True), ("s" * 32, False)):
            server = Server(secret=secret)
            self.addCleanup(server.cleanup)
            status = server.client().req(
                "GET", "/notifications/count",
                token=token("h1", "host", secret=secret))[0]
            self.assertEqual(status, 200)
            server.stop()
            self.assertEqual("shorter than 32 bytes" in server.stderr_text(),
                             warned, server.stderr_text()[-2000:])

    def test_a_socket_cap_beyond_the_open_files_is_named_at_start(self):
        for cap, warned in (("10000000", True), ("100", False)):
            server = Server(("--max-connections", cap))
            self.addCleanup(server.cleanup)
            server.stop()
            self.assertEqual("more than the open-file limit" in
                             server.stderr_text(), warned,
                             server.stderr_text()[-2000:])

    def test_a_wildcard_bind_warns_about_email_links_only_without_public_url(self):
        base = ("--bind", "0.0.0.0", "--smtp-url", "smtp://127.0.0.1:1")
        for extra, warned in (((), True),
                              (("--public-url", "http://bellhop.example/"),
                               False)):
            server = Server(base + extra)
            self.addCleanup(server.cleanup)
            server.stop()
            self.assertEqual("emails link to this host's name" in
                             server.stderr_text(), warned,
                             server.stderr_text()[-2000:])

    def test_a_cors_origin_that_is_no_origin_exits_2(self):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for value in ("app.example", "https://app.example/", "", "*,*"):
            with self.subTest(value=value):
                result = run_cli("serve", "--jwt-secret", "s" * 32,
                                 "--cors-origins", value, "--data-dir",
                                 data_dir, "--http-port", "0", "--ws-port",
                                 "0", timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn("--cors-origins", result.stderr)

    def test_a_sender_or_page_address_that_is_none_exits_2(self):
        # Either would go into every email: a sender no server takes, a
        # link that leads nowhere.
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for flag, value in (("--smtp-from", ""), ("--smtp-from", "bellhop"),
                            ("--smtp-from", "Bellhop <bellhop>"),
                            ("--smtp-from", "<a@b.example"),
                            ("--smtp-from", "a@b.example\r\nBcc: c@d.example"),
                            ("--smtp-from", "Bell\nhop <a@b.example>"),
                            ("--public-url", ""),
                            ("--public-url", "bellhop.example/inbox"),
                            ("--public-url", "ftp://bellhop.example/"),
                            ("--public-url", "http://")):
            with self.subTest(flag=flag, value=value):
                result = run_cli("serve", "--jwt-secret", "s" * 32,
                                 "--smtp-url", "smtp://127.0.0.1:1", flag,
                                 value, "--data-dir", data_dir,
                                 "--http-port", "0", "--ws-port", "0",
                                 timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn(flag, result.stderr)

    def test_an_smtp_url_of_another_scheme_exits_2(self):
        # curl would PUT the email over HTTP, or write it to a file and
        # count it as sent.
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for url in ("127.0.0.1:2525", "http://127.0.0.1:2525",
                    "file:///tmp/mail", "smtp://", "smtp://relay:port",
                    "http://bh:s3cret@relay.example"):
            with self.subTest(url=url):
                result = run_cli("serve", "--jwt-secret", "s" * 32,
                                 "--smtp-url", url, "--data-dir", data_dir,
                                 "--http-port", "0", "--ws-port", "0",
                                 timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn("--smtp-url", result.stderr)
                # The address may hold a password: it is not repeated.
                self.assertNotIn("s3cret", result.stdout + result.stderr)

    def test_an_smtp_password_in_clear_over_the_network_is_named_at_start(self):
        auth = ("--smtp-user", "bh", "--smtp-password", "pw")
        for extra, warned in (
                (("--smtp-url", "smtp://192.0.2.1:25") + auth, True),
                (("--smtp-url", "SMTP://bh@relay.example") + auth, True),
                (("--smtp-url", "smtp://192.0.2.1:25", "--smtp-starttls")
                 + auth, False),
                (("--smtp-url", "smtps://192.0.2.1:465") + auth, False),
                (("--smtp-url", "smtp://127.0.0.1:2525") + auth, False),
                (("--smtp-url", "smtp://[::ffff:127.0.0.1]:2525") + auth,
                 False),
                (("--smtp-url", "smtp://127.example.net") + auth, True),
                (("--smtp-url", "smtp://bh:pw@relay.example"), True),
                (("--smtp-url", "smtp://192.0.2.1:25"), False)):
            with self.subTest(extra=extra):
                server = Server(extra)
                self.addCleanup(server.cleanup)
                server.stop()
                self.assertEqual("password goes over the network in clear"
                                 in server.stderr_text(), warned,
                                 server.stderr_text()[-2000:])

    def test_unknown_command_exits_2(self):
        result = run_cli("no-such-command", timeout=10)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)

    def test_token_command_prints_a_jwt_the_server_accepts(self):
        result = run_cli("token", "--sub", "h1", "--role", "host",
                         "--jwt-secret", "s")
        self.assertEqual(result.returncode, 0, result.stderr)
        jwt = result.stdout.strip()
        self.assertEqual(len(jwt.split(".")), 3, jwt)
        claims = jwt_claims(jwt)
        self.assertEqual((claims["sub"], claims["role"]), ("h1", "host"))
        self.assertGreater(claims["exp"], time.time())
        server = Server(secret="s")
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/notifications/count",
                                      token=jwt), 200)

    def test_token_with_an_empty_sub_exits_2(self):
        for role in ("admin", "service", "host", "guest"):
            with self.subTest(role=role):
                result = run_cli("token", "--sub", "", "--role", role,
                                 "--jwt-secret", "s")
                self.assertEqual(result.returncode, 2, result.stdout)
                self.assertEqual(result.stdout.strip(), "")
                self.assertIn("--sub", result.stderr)

    def test_jwt_alg_without_a_public_key_exits_2(self):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        for alg in ("ES256", "bogus"):
            with self.subTest(alg=alg):
                result = run_cli("serve", "--jwt-secret", "s", "--jwt-alg",
                                 alg, "--data-dir", data_dir, "--http-port",
                                 "0", "--ws-port", "0", timeout=10)
                self.assertEqual(result.returncode, 2,
                                 result.stdout + result.stderr)
                self.assertIn("--jwt-alg", result.stderr)

    def test_bind_to_an_ipv6_address_serves_rest_and_websocket(self):
        server = Server(["--bind", "::1"], omit=("--bind",))
        self.addCleanup(server.cleanup)
        client = Client(server.http_port, host="::1")
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/healthz"), 200)
        self.assert_status(client.req("GET", "/notifications/count",
                                      token=token("h1", "host")), 200)
        with socket.create_connection(("::1", server.ws_port), timeout=10):
            pass
        # Nothing listens on IPv4 loopback.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", server.http_port),
                                     timeout=5).close()

    def test_token_ttl_sets_expiry(self):
        result = run_cli("token", "--sub", "h1", "--role", "host", "--ttl",
                         "120", "--jwt-secret", "s")
        self.assertEqual(result.returncode, 0, result.stderr)
        exp = jwt_claims(result.stdout.strip())["exp"]
        self.assertAlmostEqual(exp, time.time() + 120, delta=15)

    def config_file(self, text):
        """A TOML file of `text` in a directory of its own; its path."""
        conf_dir = tempfile.mkdtemp(prefix="bellhop-conf-")
        self.addCleanup(shutil.rmtree, conf_dir, True)
        path = os.path.join(conf_dir, "bellhop.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def config_server(self, extra_args=()):
        """A server whose secret and ports come from a TOML --config file."""
        path = self.config_file('# integration test config\n'
                                'jwt-secret = "file-secret"\n'
                                'http-port = 0\nws-port = 0\n')
        server = Server(["--config", path, *extra_args],
                        omit=("--jwt-secret", "--http-port", "--ws-port"))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        return server, client

    def test_config_file_sets_options(self):
        server, client = self.config_server()
        self.assertNotIn(server.http_port, (0, 8080))
        self.assertNotIn(server.ws_port, (0, 8081))
        ok = client.req("GET", "/notifications/count",
                        token=token("h1", "host", secret="file-secret"))
        self.assert_status(ok, 200)
        bad = client.req("GET", "/notifications/count", token=token("h1",
                                                                    "host"))
        self.assert_error(bad, 401, "unauthorized")

    def assert_secret_used(self, client, used, unused):
        ok = client.req("GET", "/notifications/count",
                        token=token("h1", "host", secret=used))
        self.assert_status(ok, 200)
        old = client.req("GET", "/notifications/count",
                         token=token("h1", "host", secret=unused))
        self.assert_error(old, 401, "unauthorized")

    def test_flag_overrides_config_file(self):
        _, client = self.config_server(["--jwt-secret", "flag-secret"])
        self.assert_secret_used(client, "flag-secret", "file-secret")

    def test_environment_overrides_config_file(self):
        # Flags beat the environment, which beats the file.
        saved = os.environ.get("BELLHOP_JWT_SECRET")
        os.environ["BELLHOP_JWT_SECRET"] = "env-secret"
        try:
            _, client = self.config_server()
        finally:
            if saved is None:
                del os.environ["BELLHOP_JWT_SECRET"]
            else:
                os.environ["BELLHOP_JWT_SECRET"] = saved
        self.assert_secret_used(client, "env-secret", "file-secret")

    def test_switches_in_the_config_file_are_toml_booleans(self):
        path = self.config_file('jwt-secret = "file-secret"\ndemo = true\n')
        server = Server(["--config", path], omit=("--jwt-secret",))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        resp = client.req("GET", "/config.json")
        self.assert_status(resp, 200)
        self.assertIs(resp[2]["demo"], True)
        with open(path, "w") as f:
            f.write('jwt-secret = "s"\nws-close-on-delivery = "yes"\n')
        code, err = self.serve_exit_code("--config", path)
        self.assertEqual(code, 2, err)
        self.assertIn("ws-close-on-delivery", err)
        # A flag that overrides a broken key does not hide it.
        code, err = self.serve_exit_code("--config", path,
                                         "--ws-close-on-delivery")
        self.assertEqual(code, 2, err)
        self.assertIn("ws-close-on-delivery", err)
        with open(path, "w") as f:
            f.write('jwt-secret = "s"\nws-port = [1, 2]\n')
        code, err = self.serve_exit_code("--config", path)
        self.assertEqual(code, 2, err)
        self.assertIn("ws-port in", err)

    def test_one_server_per_data_directory(self):
        first = Server()
        self.addCleanup(first.cleanup)
        code, err = self.serve_exit_code("--data-dir", first.data_dir,
                                         "--jwt-secret", "s")
        self.assertEqual(code, 1, err)
        self.assertIn("in use", err)
        self.assertIn("(pid %d)" % first.proc.pid, err)
        # The lock is not a file one can delete while the server runs:
        # with every file but LMDB's own gone, a second server is still
        # refused.
        for name in os.listdir(first.data_dir):
            if name not in ("data.mdb", "lock.mdb"):
                os.remove(os.path.join(first.data_dir, name))
        code, err = self.serve_exit_code("--data-dir", first.data_dir,
                                         "--jwt-secret", "s")
        self.assertEqual(code, 1, err)
        self.assertIn("in use", err)
        client = first.client()
        self.addCleanup(client.close)
        self.assert_status(client.req("GET", "/healthz"), 200)

    def test_a_server_of_the_older_lock_file_is_refused_too(self):
        # Servers before the directory lock held a flock on bellhop.lock.
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        with open(os.path.join(data_dir, "bellhop.lock"), "w") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            result = run_cli("serve", "--data-dir", data_dir, "--jwt-secret",
                             "s", "--http-port", "0", "--ws-port", "0",
                             timeout=10)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("in use by an older bellhop", result.stderr)

    def test_token_refuses_a_sub_the_server_would_refuse(self):
        for role in ("host", "guest"):
            with self.subTest(role=role):
                result = run_cli("token", "--sub", "h 1", "--role", role,
                                 "--jwt-secret", "s")
                self.assertEqual(result.returncode, 2, result.stdout)
                self.assertEqual(result.stdout, "")
                self.assertIn("--sub", result.stderr)

    def key_file(self, kind):
        """A PEM public key of `kind` ("rsa" or "ec"), made by openssl."""
        key_dir = tempfile.mkdtemp(prefix="bellhop-key-")
        self.addCleanup(shutil.rmtree, key_dir, True)
        return make_key(kind, key_dir)[1]

    def serve_exit_code(self, *args):
        data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        result = run_cli("serve", "--data-dir", data_dir, "--http-port", "0",
                         "--ws-port", "0", *args, timeout=10)
        return result.returncode, result.stderr

    def test_key_options_that_cannot_work_exit_2(self):
        rsa, ec = self.key_file("rsa"), self.key_file("ec")
        for args in (["--jwt-public-key", ec],  # RS256 by default
                     ["--jwt-public-key", rsa, "--jwt-alg", "ES256"],
                     ["--jwt-public-key", rsa, "--jwt-secret", "s"],
                     ["--jwt-public-key", "/dev/null"]):
            with self.subTest(args=args):
                code, err = self.serve_exit_code(*args)
                self.assertEqual(code, 2, err)
                self.assertIn("--jwt-", err)

    def test_values_of_the_wrong_form_exit_2(self):
        # A bad flag will not fix itself: 2, so that a service manager does
        # not restart the server over and over (docs/operations.md).
        for args, named in (
                (["--bind", "localhost"], "--bind"),
                (["--bind", "999.1.1.1"], "--bind"),
                (["--bind", "[::1]"], "--bind"),
                (["--bind", ""], "--bind"),
                (["--rate-limit", "inf"], "--rate-limit"),
                (["--rate-limit", "0x10"], "--rate-limit"),
                (["--booking-rate-limit", "nan"], "--booking-rate-limit"),
                (["--session-rate-limit", "-1"], "--session-rate-limit")):
            with self.subTest(args=args):
                code, err = self.serve_exit_code("--jwt-secret", "s", *args)
                self.assertEqual(code, 2, err)
                self.assertIn(named, err)
        path = self.config_file('jwt-secret = "s"\nws-ttl-ms = [99999999, 3000]\n')
        code, err = self.serve_exit_code("--config", path)
        self.assertEqual(code, 2, err)
        self.assertIn("ws-ttl-ms", err)
        # A directory is not a config file (toml++ reads it as empty).
        code, err = self.serve_exit_code("--config", os.path.dirname(path))
        self.assertEqual(code, 2, err)
        self.assertIn("cannot read config file", err)
        # A store smaller than 1 MiB would be full from the start.
        code, err = self.serve_exit_code("--jwt-secret", "s", "--map-size", "1")
        self.assertEqual(code, 2, err)
        self.assertIn("--map-size", err)

    def test_a_tiny_rate_in_the_config_file_is_kept(self):
        # 1e-7 a second is one request and then none; read as 0 it would
        # turn the limit off.
        path = self.config_file('jwt-secret = "s"\nrate-limit = 0.0000001\n')
        server = Server(["--config", path],
                        omit=("--jwt-secret", "--rate-limit"))
        self.addCleanup(server.cleanup)
        client = server.client()
        self.addCleanup(client.close)
        host = token("h-tiny-rate", "host", secret="s")
        codes = [client.req("GET", "/notifications/count", token=host)[0]
                 for _ in range(3)]
        self.assertEqual(codes[0], 200, codes)
        self.assertEqual(codes[-1], 429, codes)

    def test_a_port_in_use_is_named(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        for flag, name in (("--http-port", "REST port"),
                           ("--ws-port", "WebSocket port")):
            with self.subTest(flag=flag):
                data_dir = tempfile.mkdtemp(prefix="bellhop-it-")
                self.addCleanup(shutil.rmtree, data_dir, True)
                args = ["serve", "--data-dir", data_dir, "--jwt-secret", "s",
                        "--http-port", "0", "--ws-port", "0", flag, str(port)]
                result = run_cli(*args, timeout=10)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn("%s %d" % (name, port), result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
