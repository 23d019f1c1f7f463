"""Token checks that need a server of their own (API.md §2): RS256 and ES256
with `--jwt-public-key`, and `iss`/`aud` with `--jwt-issuer` and
`--jwt-audience`. Tokens are signed by openssl's command line, so the
server's libjwt checks signatures it did not make."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (SECRET, Server, b64url, make_key,  # noqa: E402
                     run_cli, token)
from rest_case import ContractAssertions, uid  # noqa: E402


def der_to_raw_p256(der):
    """An ECDSA signature as openssl writes it (DER: SEQUENCE of INTEGER r,
    INTEGER s) in JWS form: r and s as 32 bytes each (RFC 7518 §3.4)."""
    assert der[0] == 0x30
    pos = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    parts = []
    for _ in range(2):
        assert der[pos] == 0x02
        length = der[pos + 1]
        value = der[pos + 2:pos + 2 + length]
        parts.append(value.lstrip(b"\x00").rjust(32, b"\x00"))
        pos += 2 + length
    return parts[0] + parts[1]


def signed_token(private, alg, sub="h1", role="host", exp_in=3600,
                 extra=None):
    """A JWT of `alg` (RS256 or ES256) signed with the PEM key `private`."""
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + exp_in}
    claims.update(extra or {})
    signing_input = (b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
                     + "." + b64url(json.dumps(claims).encode()))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", private],
                         input=signing_input.encode(), check=True,
                         capture_output=True).stdout
    if alg == "ES256":
        sig = der_to_raw_p256(sig)
    return signing_input + "." + b64url(sig)


class PublicKeyCase(ContractAssertions):
    """A server started with --jwt-public-key for one algorithm."""

    kind = alg = None

    @classmethod
    def setUpClass(cls):
        cls.key_dir = tempfile.mkdtemp(prefix="bellhop-keys-")
        cls.private, cls.public = make_key(cls.kind, cls.key_dir)
        cls.other_private, _ = make_key(cls.kind, cls.key_dir)
        cls.server = Server(["--jwt-public-key", cls.public,
                             "--jwt-alg", cls.alg], omit=("--jwt-secret",))
        cls.http = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.server.cleanup()
        shutil.rmtree(cls.key_dir, ignore_errors=True)

    def count(self, tok):
        return self.http.req("GET", "/notifications/count", token=tok)

    def test_token_signed_with_the_private_key_is_accepted(self):
        host = uid("h")
        resp = self.count(signed_token(self.private, self.alg, sub=host))
        self.assert_status(resp, 200)
        self.assertEqual(resp[2]["unread"], 0)

    def test_a_service_token_books_and_the_host_token_counts_it(self):
        host = uid("h")
        service = signed_token(self.private, self.alg, sub="svc",
                               role="service")
        resp = self.http.req("POST", "/bookings", {
            "hostId": host, "roomId": "r1", "guestId": "g1",
            "checkIn": "2027-03-01", "checkOut": "2027-03-02", "guests": 1},
            token=service)
        self.assert_status(resp, 201)
        resp = self.count(signed_token(self.private, self.alg, sub=host))
        self.assertEqual(resp[2]["unread"], 1)

    def test_token_signed_with_another_key_is_401(self):
        resp = self.count(signed_token(self.other_private, self.alg))
        self.assert_error(resp, 401, "unauthorized")

    def test_expired_token_is_401(self):
        resp = self.count(signed_token(self.private, self.alg, exp_in=-120))
        self.assert_error(resp, 401, "unauthorized")

    def test_hs256_token_keyed_with_the_public_key_is_401(self):
        # The key-confusion attack: an HMAC over the public key's PEM text.
        with open(self.public) as f:
            pem = f.read()
        self.assert_error(self.count(token("h1", "host", secret=pem)), 401,
                          "unauthorized")

    def test_hs256_token_and_alg_none_are_401(self):
        self.assert_error(self.count(token("h1", "host")), 401,
                          "unauthorized")
        self.assert_error(self.count(token("h1", "host", alg="none")), 401,
                          "unauthorized")


class Rs256Test(PublicKeyCase, unittest.TestCase):
    kind, alg = "rsa", "RS256"


class Es256Test(PublicKeyCase, unittest.TestCase):
    kind, alg = "ec", "ES256"


class IssuerAudienceTest(ContractAssertions, unittest.TestCase):
    """--jwt-issuer and --jwt-audience: iss and aud are then required."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(["--jwt-issuer", "https://issuer.example",
                             "--jwt-audience", "bellhop-api"])
        cls.http = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        cls.server.cleanup()

    def count(self, **claims):
        tok = token(uid("h"), "host", extra=claims)
        return self.http.req("GET", "/notifications/count", token=tok)

    def test_matching_iss_and_aud_are_accepted(self):
        self.assert_status(self.count(iss="https://issuer.example",
                                      aud="bellhop-api"), 200)

    def test_aud_may_be_a_list_that_names_this_audience(self):
        self.assert_status(self.count(iss="https://issuer.example",
                                      aud=["other", "bellhop-api"]), 200)

    def test_bellhop_token_signs_the_claims_this_server_requires(self):
        host = uid("h")
        for args, status in (
                (["--jwt-issuer", "https://issuer.example",
                  "--jwt-audience", "bellhop-api"], 200),
                (["--jwt-issuer", "https://issuer.example"], 401),
                ([], 401)):
            with self.subTest(args=args):
                made = run_cli("token", "--sub", host, "--role", "host",
                               "--jwt-secret", SECRET, *args)
                self.assertEqual(made.returncode, 0, made.stderr)
                resp = self.http.req("GET", "/notifications/count",
                                     token=made.stdout.strip())
                self.assertEqual(resp[0], status, resp)
        made = run_cli("token", "--sub", host, "--role", "host",
                       "--jwt-secret", SECRET, "--jwt-issuer", "")
        self.assertEqual(made.returncode, 2, made.stdout)
        self.assertIn("--jwt-issuer", made.stderr)

    def test_missing_or_wrong_iss_is_401(self):
        for claims in ({"aud": "bellhop-api"},
                       {"iss": "https://evil.example", "aud": "bellhop-api"}):
            with self.subTest(claims=claims):
                self.assert_error(self.count(**claims), 401, "unauthorized")

    def test_missing_or_wrong_aud_is_401(self):
        for claims in ({"iss": "https://issuer.example"},
                       {"iss": "https://issuer.example", "aud": "other"},
                       {"iss": "https://issuer.example", "aud": ["a", "b"]}):
            with self.subTest(claims=claims):
                self.assert_error(self.count(**claims), 401, "unauthorized")


if __name__ == "__main__":
    unittest.main(verbosity=2)
