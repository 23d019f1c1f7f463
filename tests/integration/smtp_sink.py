"""An SMTP server for tests: Debian's aiosmtpd, in-process, on 127.0.0.1.

Every message it accepts is kept (envelope and parsed email) in a list that
tests wait on. The sink can be stopped and started again on the same port,
so that a test can take the "SMTP server" down and bring it back.

Needs `python3-aiosmtpd` (the system interpreter, /usr/bin/python3)."""

import asyncio
import email
import email.policy
import errno
import logging
import socket
import threading
import time

from aiosmtpd.controller import Controller

# aiosmtpd logs every connection at INFO and a refused/aborted one at WARNING.
logging.getLogger("mail.log").setLevel(logging.ERROR)


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Received:
    """One accepted message."""

    def __init__(self, envelope):
        self.at = time.time()
        self.mail_from = envelope.mail_from
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.raw = envelope.original_content or envelope.content
        self.msg = email.message_from_bytes(self.raw,
                                            policy=email.policy.default)

    def header(self, name):
        value = self.msg[name]
        return None if value is None else str(value)

    @property
    def message_id(self):
        value = self.msg["Message-ID"]
        return None if value is None else str(value).strip()

    def text(self):
        """The decoded text/plain body."""
        part = self.msg.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def __repr__(self):
        return "<mail to=%r subject=%r id=%r at=%.3f>" % (
            self.rcpt_tos, self.header("Subject"), self.message_id, self.at)


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if self.sink.rcpt_refusal is not None:
            return self.sink.rcpt_refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # While the sink holds, a message waits here before its answer
        # (without blocking the event loop: other connections go on).
        if self.sink._holding:
            self.sink._enter_hold(envelope)
            try:
                while self.sink._holding:
                    await asyncio.sleep(0.01)
            finally:
                self.sink._leave_hold(envelope)
        refusal = self.sink._take_refusal()
        if refusal is not None:
            return refusal
        try:
            item = Received(envelope)
        except Exception as exc:  # a message we cannot parse is a failure
            return "554 cannot parse message: %s" % exc
        self.sink._add(item)
        return "250 OK"


class SmtpSink:
    """An aiosmtpd Controller on 127.0.0.1:port that stores what it gets."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []
        self.refusals = []  # (time, reply) of each message refused
        self._cond = threading.Condition()
        self._controller = None
        self._holding = False
        self.held = []      # recipients of the messages held right now
        self.max_held = 0   # the most messages held at once
        self.max_held_to = 0  # the most held at once for one recipient
        self.rcpt_refusal = None  # the answer to every RCPT, while set

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    @property
    def running(self):
        return self._controller is not None

    def start(self, timeout=10):
        """Starts listening; retries briefly while the port is still busy."""
        assert self._controller is None, "sink already running"
        deadline = time.monotonic() + timeout
        while True:
            controller = Controller(_Handler(self), hostname="127.0.0.1",
                                    port=self.port, ready_timeout=timeout)
            try:
                controller.start()
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or \
                        time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                continue
            self._controller = controller
            return self

    def stop(self):
        """Stops listening: new connections are refused."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse_next(self, count, reply="451 4.3.0 try again later"):
        """Answers the next `count` messages with `reply` (a transient
        failure by default) instead of accepting them."""
        with self._cond:
            self._refuse_left, self._refuse_reply = count, reply

    def hold(self):
        """From now on each message waits, unanswered, until release()."""
        self._holding = True

    def release(self):
        self._holding = False

    def _enter_hold(self, envelope):
        with self._cond:
            self.held.append(tuple(envelope.rcpt_tos))
            self.max_held = max(self.max_held, len(self.held))
            self.max_held_to = max(self.max_held_to, max(
                self.held.count(r) for r in self.held))
            self._cond.notify_all()

    def _leave_hold(self, envelope):
        with self._cond:
            self.held.remove(tuple(envelope.rcpt_tos))

    def wait_held(self, count, timeout=10):
        """Waits until `count` messages are held at once."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.held) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "expected %d messages held at once within %.1f s; "
                        "held %r" % (count, timeout, self.held))
                self._cond.wait(left)

    def _take_refusal(self):
        with self._cond:
            if getattr(self, "_refuse_left", 0) <= 0:
                return None
            self._refuse_left -= 1
            self.refusals.append((time.time(), self._refuse_reply))
            return self._refuse_reply

    def _add(self, item):
        with self._cond:
            self.messages.append(item)
            self._cond.notify_all()

    def matching(self, match=None):
        with self._cond:
            return [m for m in self.messages if match is None or match(m)]

    def to(self, address):
        """The messages sent to `address` so far."""
        return self.matching(lambda m: address in m.rcpt_tos)

    def wait(self, match, count=1, timeout=10):
        """Waits until at least `count` messages satisfy `match`; returns
        them. Raises AssertionError (listing what came) on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if match(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "expected %d matching message(s) within %.1f s, got "
                        "%d; all messages: %r" % (count, timeout, len(found),
                                                  self.messages[-20:]))
                self._cond.wait(left)

    def wait_to(self, address, count=1, timeout=10):
        return self.wait(lambda m: address in m.rcpt_tos, count, timeout)
