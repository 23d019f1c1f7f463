// Socket.IO compatibility (API.md §6) with the real socket.io-client v4
// against the real `bellhop serve`, plus a few raw Engine.IO frames over
// `ws` for what the client library hides. Each group starts its own
// server with the flags it needs; hosts are unique per test.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { io } from "socket.io-client";
import WebSocket from "ws";

import { audit, book, metric, next, sleep, startServer, token, uid }
  from "./server.mjs";

/** A socket.io-client socket that only speaks WebSocket, no reconnects. */
function client(server, auth, { nsp = "", ...opts } = {}) {
  return io(server.url + nsp, {
    transports: ["websocket"],
    auth,
    reconnection: false,
    forceNew: true,
    ...opts,
  });
}

/** Connects as host `host` and resolves to [socket, hello]. */
async function hostSocket(server, host) {
  const s = client(server, { token: token(host, "host") });
  const [hello] = await next(s, "hello");
  return [s, hello];
}

/** A raw WebSocket to /socket.io/ that queues the frames it gets. */
function raw(server, query = "?EIO=4&transport=websocket") {
  const ws = new WebSocket(`ws://127.0.0.1:${server.ws}/socket.io/${query}`);
  ws.queue = [];
  ws.wake = () => {};
  ws.on("message", (d) => {
    ws.queue.push(d.toString());
    ws.wake();
  });
  ws.on("error", () => {});
  return ws;
}

/** The next queued text frame that is not an Engine.IO ping. */
async function frame(ws, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    while (ws.queue.length > 0) {
      const f = ws.queue.shift();
      if (f !== "2")
        return f;
    }
    if (Date.now() >= deadline)
      throw new Error("no frame in time");
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, deadline - Date.now());
      ws.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The HTTP status of a GET, or of an upgrade request, to the ws port. */
function status(server, pathAndQuery, upgrade = false) {
  return new Promise((resolve, reject) => {
    const headers = upgrade
      ? { Connection: "Upgrade", Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" }
      : {};
    const req = http.get({ host: "127.0.0.1", port: server.ws,
                           path: pathAndQuery, headers });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: 101, body: "" });
    });
    req.on("error", reject);
  });
}

describe("Socket.IO without TTL", () => {
  let server;
  before(async () => (server = await startServer(["--ws-ttl-ms", "0"])));
  after(() => server.stop());

  test("a host connects with its token and gets hello", async () => {
    const host = uid("h");
    const [s, hello] = await hostSocket(server, host);
    assert.equal(s.connected, true);
    assert.equal(hello.hostId, host);
    assert.equal(hello.sessionId, s.id);  // the Socket.IO sid
    assert.equal(hello.ttlMs, 0);
    assert.equal(hello.unread, 0);
    assert.equal(hello.latestId, 0);
    s.disconnect();
  });

  test("new_booking arrives with an ack callback", async () => {
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    const arrived = next(s, "new_booking");
    const created = await book(server, host, uid("r"));
    const [n, ack] = await arrived;
    assert.equal(n.id, created.notification.id);
    assert.equal(n.hostId, host);
    assert.equal(n.type, "new_booking");
    assert.equal(n.data.bookingId, created.booking.id);
    assert.equal(typeof ack, "function");
    ack();
    s.disconnect();
  });

  /** 30 bookings at once, each event acked as it comes by `ackWith`: the
   * socket stays and every ack is audited. */
  async function burstAcked(ackWith) {
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    let disconnected = null;
    s.on("disconnect", (why) => (disconnected = why));
    const acked = new Set();
    s.on("new_booking", (n, ack) => {
      ackWith(s, n, ack);
      acked.add(n.id);
    });
    await Promise.all(Array.from({ length: 30 },
                                 () => book(server, host, uid("r"))));
    for (let i = 0; i < 100 && acked.size < 30; ++i)
      await sleep(50);
    assert.equal(acked.size, 30);
    let audited = 0;
    for (let i = 0; i < 100 && audited < 30; ++i) {
      audited = (await audit(server, host))
        .filter((e) => e.action === "acked").length;
      if (audited < 30)
        await sleep(50);
    }
    assert.equal(audited, 30);
    assert.equal(disconnected, null);
    assert.equal(s.connected, true);
    s.disconnect();
  }

  test("a burst acked as each event comes keeps the socket; every ack counts",
       async () => {
    // socket.io-client acks from its callback at once: the acks the server
    // asked for must not trip the 20 messages/s limit (decisions.md,
    // "Flooding"), or the device is disconnected and emailed what it acked.
    await burstAcked((s, n, ack) => ack());
  });

  test("a burst acked with the ack event (§5's op) keeps the socket too",
       async () => {
    await burstAcked((s, n) => s.emit("ack", { id: n.id }));
  });

  test("600 events acked at once keep the socket; every ack counts",
       async () => {
    // Every pending ack (up to 1,024) is one the server asked for: none
    // counts toward the 20 messages a second, whenever it comes.
    const series = 'bellhop_deliveries_total{channel="socketio",result="acked"}';
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    let disconnected = null;
    s.on("disconnect", (why) => (disconnected = why));
    const acks = [];
    s.on("new_booking", (n, ack) => acks.push(ack));
    const before = await metric(server, series);
    for (let i = 0; i < 600; i += 50)
      await Promise.all(Array.from({ length: 50 },
                                   () => book(server, host, uid("r"))));
    for (let i = 0; i < 200 && acks.length < 600; ++i)
      await sleep(50);
    assert.equal(acks.length, 600);
    for (const ack of acks)
      ack();
    let counted = 0;
    for (let i = 0; i < 100 && counted < 600; ++i) {
      counted = (await metric(server, series)) - before;
      if (counted < 600)
        await sleep(50);
    }
    assert.equal(disconnected, null);
    assert.equal(counted, 600);
    assert.equal(s.connected, true);
    s.disconnect();
  });

  test("raw: flooding closes with 1008 and is counted as rate limited",
       async () => {
    const before = await metric(server, "bellhop_rate_limited_total");
    const ws = raw(server);
    await frame(ws);  // open
    ws.send(`40${JSON.stringify({ token: token(uid("h"), "host") })}`);
    assert.match(await frame(ws), /^40/);
    const closed = next(ws, "close");
    for (let i = 0; i < 30; ++i)
      ws.send('42["ping"]');
    const [code] = await closed;
    assert.equal(code, 1008);
    assert.equal(await metric(server, "bellhop_rate_limited_total"),
                 before + 1);
  });

  test("a bad token gets connect_error unauthorized", async () => {
    const s = client(server, { token: "not-a-jwt" });
    const [err] = await next(s, "connect_error");
    assert.equal(err.message, "unauthorized");
    const t = client(server, undefined);  // no auth payload at all
    const [err2] = await next(t, "connect_error");
    assert.equal(err2.message, "unauthorized");
    s.close();
    t.close();
  });

  test("roles and rooms follow the /ws rules", async () => {
    const guest = client(server, { token: token("g-1", "guest") });
    assert.equal((await next(guest, "connect_error"))[0].message, "forbidden");
    const other = client(server,
                         { token: token(uid("h"), "host"), hostId: "h-else" });
    assert.equal((await next(other, "connect_error"))[0].message, "forbidden");
    const lost = client(server, { token: token("a-1", "admin") });
    assert.equal((await next(lost, "connect_error"))[0].message,
                 "invalid_request");
    const host = uid("h");
    const admin = client(server,
                         { token: token("a-1", "admin"), hostId: host });
    const [hello] = await next(admin, "hello");
    assert.equal(hello.hostId, host);
    for (const s of [guest, other, lost, admin])
      s.close();
  });

  test("another host's events never arrive", async () => {
    const [h1, h2] = [uid("h"), uid("h")];
    const [s1] = await hostSocket(server, h1);
    const [s2] = await hostSocket(server, h2);
    const seen1 = [];
    s1.on("new_booking", (n) => seen1.push(n));
    const got2 = next(s2, "new_booking");
    const theirs = await book(server, h2, uid("r"));
    assert.equal((await got2)[0].id, theirs.notification.id);
    const got1 = next(s1, "new_booking");
    const mine = await book(server, h1, uid("r"));
    await got1;
    await sleep(200);
    assert.deepEqual(seen1.map((n) => n.hostId), [h1]);
    assert.equal(seen1[0].data.bookingId, mine.booking.id);
    s1.disconnect();
    s2.disconnect();
  });

  test("mark-read is emitted and answered with a read event", async () => {
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    const arrived = next(s, "new_booking");
    await book(server, host, uid("r"));
    const [n] = await arrived;
    const read = next(s, "read");
    s.emit("mark-read", { ids: [n.id] });
    const [r] = await read;
    assert.deepEqual(r.ids, [n.id]);
    assert.equal(r.unread, 0);
    s.disconnect();
  });

  test("after=<id> in the auth payload replays what was missed", async () => {
    const host = uid("h");
    const first = await book(server, host, uid("r"));
    const second = await book(server, host, uid("r"));
    const s = client(server, { token: token(host, "host"),
                               after: first.notification.id });
    // Both listeners first: the two frames may come in one read.
    const replayed = next(s, "new_booking");
    const [hello] = await next(s, "hello");
    assert.equal(hello.latestId, second.notification.id);
    const [n] = await replayed;
    assert.equal(n.id, second.notification.id);
    s.disconnect();
  });

  test("another namespace is refused", async () => {
    const s = client(server, { token: token(uid("h"), "host") },
                     { nsp: "/admin" });
    const [err] = await next(s, "connect_error");
    assert.equal(err.message, "Invalid namespace");
    s.close();
  });

  test("the polling transport is refused with HTTP 400", async () => {
    const poll = await status(server, "/socket.io/?EIO=4&transport=polling");
    assert.equal(poll.status, 400);
    assert.equal(JSON.parse(poll.body).error.code, "invalid_request");
    assert.equal((await status(server, "/socket.io/?EIO=4")).status, 400);
    const s = client(server, { token: token(uid("h"), "host") },
                     { transports: ["polling"] });
    await next(s, "connect_error");
    s.close();
  });

  test("an upgrade without EIO=4 and transport=websocket is 400", async () => {
    for (const q of ["?EIO=3&transport=websocket", "?transport=websocket",
                     "?EIO=4", "?EIO=4&transport=polling"])
      assert.equal((await status(server, `/socket.io/${q}`, true)).status, 400,
                   q);
    assert.equal(
      (await status(server, "/socket.io/?EIO=4&transport=websocket", true))
        .status, 101);
  });

  test("raw: the open packet, then CONNECT", async () => {
    const ws = raw(server);
    const open = await frame(ws);
    assert.equal(open[0], "0");
    const o = JSON.parse(open.slice(1));
    assert.deepEqual(Object.keys(o).sort(),
                     ["maxPayload", "pingInterval", "pingTimeout", "sid",
                      "upgrades"]);
    assert.deepEqual(o.upgrades, []);
    assert.equal(o.pingInterval, 25000);
    assert.equal(o.pingTimeout, 20000);
    assert.equal(typeof o.sid, "string");
    ws.send("40/random");
    assert.equal(await frame(ws), '44/random,{"message":"Invalid namespace"}');
    ws.send(`40${JSON.stringify({ token: token(uid("h"), "host") })}`);
    const ok = await frame(ws);
    assert.match(ok, /^40\{"sid":"[^"]+"\}$/);
    assert.match(await frame(ws), /^42\["hello",\{/);
    ws.close();
  });

  test("raw: malformed packets close the connection", async () => {
    const cases = [["4abc"], ['42["mark-read",{}]'],  // not CONNECT first
                   ["40", "42{}"], ["40", "42[]"],
                   ["40", '42abc["x"]']];
    for (const frames of cases) {
      const ws = raw(server);
      await frame(ws);  // open
      const closed = next(ws, "close");
      for (const f of frames)
        ws.send(f.startsWith("40") && f.length === 2
          ? `40${JSON.stringify({ token: token(uid("h"), "host") })}`
          : f);
      const [code] = await closed;
      assert.equal(code, 1002, frames.join(" "));
    }
  });

  test("raw: a frame over maxPayload closes with 1009", async () => {
    const ws = raw(server);
    const o = JSON.parse((await frame(ws)).slice(1));
    const closed = next(ws, "close");
    ws.send(`42["x","${"a".repeat(o.maxPayload)}"]`);
    const [code] = await closed;
    assert.equal(code, 1009);
  });

  test("raw: without CONNECT the connection closes after 10 s", async () => {
    const ws = raw(server);
    await frame(ws);
    const t0 = Date.now();
    await next(ws, "close", 15000);
    assert.ok(Date.now() - t0 >= 9000);
  });
});

describe("Socket.IO with close on delivery", () => {
  let server;
  before(async () => (server = await startServer(
    ["--ws-ttl-ms", "0", "--ws-close-on-delivery"])));
  after(() => server.stop());

  test("the client's ack counts: the session closes as delivered", async () => {
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    const arrived = next(s, "new_booking");
    await book(server, host, uid("r"));
    const [, ack] = await arrived;
    const gone = next(s, "disconnect");
    ack();
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
  });

  test("without the ack the session stays", async () => {
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    const arrived = next(s, "new_booking");
    await book(server, host, uid("r"));
    await arrived;
    let reason = null;
    s.on("disconnect", (r) => (reason = r));
    await sleep(500);
    assert.equal(reason, null);
    assert.equal(s.connected, true);
    s.disconnect();
  });
});

describe("Socket.IO with a TTL", () => {
  let server;
  before(async () => (server = await startServer(["--ws-ttl-ms", "1500"])));
  after(() => server.stop());

  test("the TTL ends the connection with a disconnect event", async () => {
    const t0 = Date.now();
    const [s, hello] = await hostSocket(server, uid("h"));
    assert.equal(hello.ttlMs, 1500);
    const [reason] = await next(s, "disconnect");
    assert.equal(reason, "io server disconnect");
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 5000, `${took} ms`);
  });

  test("an ack sent just after the TTL ran out still counts (§7)", async () => {
    // The push must come just before the TTL and the ack just after it,
    // within 500 ms of the push; a try where the machine was too slow to
    // place them so is made again.
    for (let i = 0; i < 3; ++i)
      if (await ackAfterTtl())
        return;
    assert.fail("three tries too slow to push before the TTL and ack in time");
  });

  /** One try: false when the timing could not be placed. */
  async function ackAfterTtl() {
    const host = uid("h");
    const [s] = await hostSocket(server, host);
    const t0 = Date.now();  // after hello: the server's TTL started earlier
    const gone = next(s, "disconnect");
    // Pushed 250 ms before the TTL: the server waits for its ack until
    // 250 ms after it.
    await sleep(1500 - 250 - (Date.now() - t0));
    const arrived = next(s, "new_booking", 1000);
    const booked = await book(server, host, uid("r"));
    let data, ack;
    try {
      [data, ack] = await arrived;
    } catch {
      await gone;
      return false;  // the push came after the TTL
    }
    assert.equal(data.id, booked.notification.id);
    const got = Date.now();
    await sleep(1500 + 50 - (Date.now() - t0));  // the TTL has run out
    if (Date.now() - got > 400) {
      await gone;
      return false;  // the server may rightly have stopped waiting
    }
    ack();
    const [reason] = await gone;
    assert.equal(reason, "io server disconnect");
    // The server waited for the ack before it disconnected: it is audited
    // (the entry is written just after the ack; polled for up to 5 s).
    let acked = [];
    for (const deadline = Date.now() + 5000; Date.now() < deadline;) {
      const r = await fetch(`http://127.0.0.1:${server.http}/admin/audit`
                            + `?hostId=${host}&notificationId=${data.id}`, {
        headers: { Authorization: `Bearer ${token("admin-sio", "admin")}` },
      });
      assert.equal(r.status, 200);
      acked = (await r.json()).items.filter((e) => e.action === "acked")
        .map((e) => e.via);
      if (acked.length > 0)
        break;
      await sleep(50);
    }
    assert.deepEqual(acked, ["socketio"]);
    return true;
  }
});

describe("Socket.IO session limits", () => {
  let server;
  before(async () => (server = await startServer(
    ["--ws-ttl-ms", "0", "--max-sessions-per-host", "1"])));
  after(() => server.stop());

  test("a host over the limit gets too many sessions", async () => {
    const host = uid("h");
    const [first] = await hostSocket(server, host);
    const second = client(server, { token: token(host, "host") });
    const [err] = await next(second, "connect_error");
    assert.equal(err.message, "too many sessions");
    second.close();
    first.disconnect();
    await sleep(200);  // the server frees the slot when the socket closes
    const [third] = await hostSocket(server, host);
    third.disconnect();
  });
});

describe("Socket.IO at shutdown", () => {
  test("SIGTERM closes sockets without DISCONNECT and exits 0", async () => {
    const server = await startServer(["--ws-ttl-ms", "0"]);
    const [s] = await hostSocket(server, uid("h"));
    const gone = next(s, "disconnect");
    await server.stop();  // throws unless the exit status is 0
    const [reason] = await gone;
    assert.equal(reason, "transport close");  // so the client reconnects
  });
});
