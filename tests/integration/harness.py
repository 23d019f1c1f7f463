"""Integration-test harness: start bellhop, mint JWTs, speak HTTP."""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SECRET = "it-secret-0123456789abcdef-0123456789"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15


def bellhop_bin():
    """Path of the binary under test: $BELLHOP_BIN, default build/bellhop."""
    path = os.environ.get("BELLHOP_BIN", "build/bellhop")
    if os.path.isabs(path) or os.path.exists(path):
        return os.path.abspath(path)
    return os.path.join(REPO_ROOT, path)


def run_cli(*args, timeout=20):
    """Runs `bellhop ARGS...` to completion; returns a CompletedProcess."""
    return subprocess.run([bellhop_bin(), *args], capture_output=True,
                          text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- tokens

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token(sub, role, secret=SECRET, exp_in=3600, alg="HS256", extra=None,
          drop=()):
    """Mints a JWT by hand: HMAC with SHA-256, -384 or -512 for HS256, HS384
    and HS512 (so those are genuine tokens of that algorithm), SHA-256 under
    any other label, and no signature for alg "none". `drop` names claims to
    leave out (e.g. ("exp",))."""
    now = int(time.time())
    header = {"alg": alg, "typ": "JWT"}
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + exp_in}
    claims.update(extra or {})
    for name in drop:
        claims.pop(name, None)
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode()))
    if alg == "none":
        signature = ""
    else:
        digest = {"HS384": hashlib.sha384,
                  "HS512": hashlib.sha512}.get(alg, hashlib.sha256)
        signature = b64url(hmac.new(secret.encode(), signing_input.encode(),
                                    digest).digest())
    return signing_input + "." + signature


def make_key(kind, key_dir):
    """A fresh key pair of `kind` ("rsa", 2048 bits, or "ec", P-256) made by
    openssl, as PEM files in key_dir; returns (private, public) paths."""
    fd, private = tempfile.mkstemp(prefix=kind + "-", suffix=".pem",
                                   dir=key_dir)
    os.close(fd)
    public = private[:-4] + ".pub"
    gen = (["openssl", "genrsa", "-out", private, "2048"] if kind == "rsa"
           else ["openssl", "ecparam", "-name", "prime256v1", "-genkey",
                 "-noout", "-out", private])
    subprocess.run(gen, check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out",
                    public], check=True, capture_output=True)
    return private, public


def jwt_claims(jwt):
    """Decodes (without checking) the payload of a JWT."""
    return json.loads(b64url_decode(jwt.split(".")[1]))


# ---------------------------------------------------------------- logs

_LOGFMT_PAIR = re.compile(r' ([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|[^\s"=]+)(?= |$)')


def logfmt_fields(line):
    """The fields of a text log line (`ts level msg k=v ...`) as a logfmt
    reader sees them: a dict of strings, quoted values unescaped. Raises
    ValueError when anything after the first field is not a field."""
    first = re.search(r' [A-Za-z_][\w.]*=', line)
    if first is None:
        return {}
    fields, at = {}, first.start()
    while at < len(line):
        m = _LOGFMT_PAIR.match(line, at)
        if m is None:
            raise ValueError("not logfmt at %d: %r" % (at, line))
        key, value = m.groups()
        fields[key] = json.loads(value) if value.startswith('"') else value
        at = m.end()
    return fields


# ---------------------------------------------------------------- server

class Server:
    """One `bellhop serve` process on ephemeral ports.

    extra_args are appended to the default flags; `omit` drops default flags
    (with their values) so a test can supply them another way (--config);
    `env` adds to the process's environment; `preexec_fn` runs in the child
    before it executes the server."""

    def __init__(self, extra_args=(), data_dir=None, secret=SECRET, omit=(),
                 start=True, env=None, preexec_fn=None):
        self.extra_args = list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        self.preexec_fn = preexec_fn  # run in the child before exec
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="bellhop-it-")
        self.secret = secret
        self.omit = set(omit)
        self.proc = None
        self.http_port = None
        self.ws_port = None
        self.listening = None
        self.stdout_lines = []
        self.stderr_lines = []
        self._threads = []
        if start:
            try:
                self.start()
            except Exception:
                if self.owns_data_dir:
                    shutil.rmtree(self.data_dir, ignore_errors=True)
                raise

    def command(self):
        defaults = [("--http-port", "0"), ("--ws-port", "0"),
                    ("--bind", "127.0.0.1"), ("--data-dir", self.data_dir),
                    ("--jwt-secret", self.secret), ("--rate-limit", "0"),
                    ("--booking-rate-limit", "0")]
        cmd = [bellhop_bin(), "serve"]
        for flag, value in defaults:
            if flag not in self.omit:
                cmd += [flag, value]
        return cmd + self.extra_args

    def start(self):
        self.stdout_lines, self.stderr_lines = [], []
        self.listening = None
        ready = threading.Event()
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=self.env,
                                     preexec_fn=self.preexec_fn)
        out = threading.Thread(target=self._read_stdout,
                               args=(self.proc, ready), daemon=True)
        err = threading.Thread(target=self._drain,
                               args=(self.proc.stderr, self.stderr_lines),
                               daemon=True)
        out.start()
        err.start()
        self._threads = [out, err]
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                if self.proc.poll() is None:
                    self.kill9()
                raise RuntimeError(
                    "bellhop did not print its listening line (exit %r)\n"
                    "cmd: %s\nstdout:\n%s\nstderr:\n%s" % (
                        self.proc.returncode, " ".join(self.command()),
                        self.stdout_text()[-3000:],
                        self.stderr_text()[-3000:]))
        self.http_port = self.listening["http"]
        self.ws_port = self.listening["ws"]
        return self

    def _read_stdout(self, proc, ready):
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            if self.listening is None:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict) and obj.get("event") == "listening":
                    self.listening = obj
                    ready.set()
        proc.stdout.close()

    @staticmethod
    def _drain(stream, sink):
        for raw in iter(stream.readline, b""):
            sink.append(raw.decode("utf-8", "replace").rstrip("\n"))
            del sink[:-2000]
        stream.close()

    def stdout_text(self):
        return "\n".join(self.stdout_lines)

    def stderr_text(self):
        return "\n".join(self.stderr_lines)

    def _join_readers(self):
        for thread in self._threads:
            thread.join(timeout=5)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        """Sends SIGTERM (or `sig`) and waits; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._join_readers()
            raise RuntimeError("bellhop did not exit within %ss of signal %s"
                               % (timeout, sig))
        self._join_readers()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._join_readers()

    def restart(self):
        """Starts a new process on the same data dir (after stop/kill9)."""
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        return self.start()

    def cleanup(self):
        """Stops the process (ignoring the exit code) and removes the data
        dir if this Server created it."""
        try:
            self.stop(timeout=5)
        except RuntimeError:
            pass
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def client(self):
        return Client(self.http_port)


# ---------------------------------------------------------------- client

class _NoDelayConnection(http.client.HTTPConnection):
    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Client:
    """Keep-alive HTTP/1.1 client for 127.0.0.1:port."""

    def __init__(self, port, host="127.0.0.1", timeout=15):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def req(self, method, path, body=None, token=None, headers=None,
            raw_body=None, content_type="application/json"):
        """Returns (status, headers lower-cased, parsed JSON or None, raw)."""
        hdrs = {}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if raw_body is not None:
            data = raw_body.encode() if isinstance(raw_body, str) else raw_body
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        resp, raw = self._exchange(method, path, data, hdrs)
        headers_out = {k.lower(): v for k, v in resp.getheaders()}
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        return resp.status, headers_out, parsed, raw

    def _exchange(self, method, path, data, hdrs):
        for attempt in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = _NoDelayConnection(
                    self.host, self.port, timeout=self.timeout)
            try:
                try:
                    self.conn.request(method, path, body=data, headers=hdrs)
                except (BrokenPipeError, ConnectionResetError):
                    # The server may answer (413) and close before reading
                    # the whole body: try to read its answer anyway.
                    pass
                resp = self.conn.getresponse()
                raw = resp.read()
            except TimeoutError:
                self.close()
                raise
            except (http.client.HTTPException, OSError):
                self.close()
                if reused and attempt == 0:
                    continue  # stale keep-alive connection: retry once
                raise
            if resp.will_close:
                self.close()
            return resp, raw
        raise AssertionError("unreachable")
