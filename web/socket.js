// The short-lived socket (API.md §5): opened with after=<latestId>, watched
// (hello, TTL, ping), and its frames: hello, notifications (each acked as it
// comes), read events and pongs. When it closes, polling takes over.
'use strict';

// Opens the native socket on the WebSocket port; the server replays every
// notification with an id above `after` before any live one.
function connect(after) {
  if (s.ws || !s.token || !s.cfg) return;
  if (s.behind !== null) {
    after = Math.min(after, s.behind);
    s.behind = null;
  }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = proto + '//' + location.hostname + ':' + s.cfg.wsPort
    + '/ws?access_token=' + encodeURIComponent(s.token) + '&after=' + after;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    startPolling();
    return;
  }
  s.ws = ws;
  stopPolling();
  let opened = false;
  watchSocket(ws, HELLO_MS, after);
  ws.onopen = () => {
    opened = true;
    if (s.ws === ws) setStatus('live');
  };
  ws.onmessage = (e) => {
    if (s.ws === ws) onFrame(ws, e.data, after);
  };
  ws.onclose = (e) => {
    unwatchSocket(ws);
    if (s.ws !== ws) return;
    s.ws = null;
    if (e.code === 4003) {
      logout('Your token expired. Log in again.');
      return;
    }
    if (!opened) catchUp(after, true).catch(() => {});
    startPolling();  // 4000 ttl, 4001 delivered, 1001 shutdown, failures
  };
}

// The watchdog. A connection that dies silently (sleep, a new network, a
// NAT entry gone) leaves the socket open for many minutes. So a socket
// must say hello within HELLO_MS, close by its TTL (hello.ttlMs) plus
// TTL_MARGIN_MS, and answer a ping every PING_MS within PONG_MS (§5);
// one that does not is given up (dropSocket). `ms` is the first deadline.
function watchSocket(ws, ms, after) {
  ws.after = after;
  ws.deadline = setTimeout(() => dropSocket(ws), ms);
}

function onHello(ws, ttlMs) {
  ws.helloSeen = true;
  clearTimeout(ws.deadline);
  ws.deadline = ttlMs > 0
    ? setTimeout(() => dropSocket(ws), ttlMs + TTL_MARGIN_MS) : 0;
  ws.pinger = setInterval(() => {
    if (ws.pong) return;  // one ping unanswered at a time
    try {
      ws.send(JSON.stringify({ op: 'ping' }));
    } catch {
      return;  // closing
    }
    ws.pong = setTimeout(() => dropSocket(ws), PONG_MS);
  }, PING_MS);
}

function onPong(ws) {
  clearTimeout(ws.pong);
  ws.pong = 0;
}

function unwatchSocket(ws) {
  clearTimeout(ws.deadline);
  clearTimeout(ws.pong);
  clearInterval(ws.pinger);
}

// Gives up on a silent socket: the page goes on as after a close. What
// the socket was to bring is read by REST if it never said hello, else
// the next socket replays it (markBehind).
function dropSocket(ws) {
  unwatchSocket(ws);
  if (s.ws !== ws) return;
  s.ws = null;
  ws.close();  // the browser finishes it when it can; its events are ignored
  if (!ws.helloSeen) catchUp(ws.after, true).catch(() => {});
  else markBehind(ws.after);
  startPolling();
}

function onFrame(ws, text, after) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return;
  }
  const d = msg.data;
  if (msg.event === 'hello') {
    onHello(ws, d && d.ttlMs);
    applyCount(d);
    if (d && d.latestId > after + 100) catchUp(after).catch(() => {});
  }
  else if (msg.event === 'pong') onPong(ws);
  else if (msg.event === 'read') onRead(d);
  else if (d && typeof d.id === 'number') onNotification(ws, d);
}

// Each notification is acked as it comes, replayed ones included: the
// acks the server asked for do not count against its 20 messages a
// second (§4), so a burst or a replay of 100 does not trip it.
function sendAck(ws, id) {
  try {
    ws.send(JSON.stringify({ op: 'ack', id }));
  } catch {
    // Closing: it stays unacked, as the contract says.
  }
}

function onNotification(ws, n) {
  sendAck(ws, n.id);
  upsert(n);
  if (n.id > s.latestId) {
    // Ids of a host are consecutive; a gap is a notification not pushed
    // (realtime off for its category) that the count includes: the count
    // is read again and the list gets the missing ones (no toast).
    const before = s.latestId;
    const gap = n.id !== before + 1;
    setBadge(s.unread + (n.readAt ? 0 : 1), n.id);
    if (gap) fillGap(before);
  }
  // A replayed one already read (on another device) is listed, not
  // toasted; one a REST read listed first still is.
  toastOnce(n);
  renderList();
}

function onRead(d) {
  if (!d) return;
  note('');  // a mark-read that seemed to fail may have been done after all
  if (Array.isArray(d.ids)) d.ids.forEach(markItemRead);
  if (typeof d.upTo === 'number') {
    for (const id of s.items.keys()) if (id <= d.upTo) markItemRead(id);
  }
  applyNewer(d);
}
