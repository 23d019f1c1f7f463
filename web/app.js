// The host page (API.md §8): login, the unread badge, the list under the
// bell, a toast per new notification, and the short-lived socket (§5) with
// its fallback: once the socket closes (TTL), poll the count with its ETag
// every 5 s and reconnect with after=<latestId> when it shows something new.
//
// The badge is a snapshot {unread, latestId}: latestId is the newest
// notification the unread figure accounts for. Snapshots come from
// /notifications/count, the socket's hello and read events, and each new
// notification (+1). One older than the badge is dropped (applyCount); one
// newer than it is applied only together with a fetch of what lies between
// (applyNewer).
//
// Connections may die without a word (sleep, a new network): every request
// has a deadline (FETCH_MS) and the socket a watchdog (watchSocket).
'use strict';

(() => {
  const POLL_MS = 5000;   // count polling while the socket is closed
  const PAGE = 20;        // list page size
  const TOAST_MS = 6000;  // how long a toast stays
  const MAX_TOASTS = 4;
  const TOKEN_KEY = 'bellhop.token';
  const FETCH_MS = 10000;      // a request not answered by then has failed
  const RETRY_MS = 5000;       // login again, when no Retry-After says
  const HELLO_MS = 10000;      // a socket without a hello by then is dead
  const TTL_MARGIN_MS = 5000;  // past hello.ttlMs, the server's close is late
  const PING_MS = 15000;       // a ping this long after hello or the last one
  const PONG_MS = 5000;        // and its pong must come within this
  const NOTE_MS = 8000;        // how long a failed mark-read's message stays

  const $ = (id) => document.getElementById(id);
  const ui = {
    who: $('who'), status: $('status'), bell: $('bell'), badge: $('badge'),
    panel: $('panel'), list: $('list'), empty: $('empty'),
    loadMore: $('load-more'), markAll: $('mark-all'), logout: $('logout'),
    login: $('login'), form: $('login-form'), tokenInput: $('token-input'),
    loginError: $('login-error'), home: $('home'), homeTitle: $('home-title'),
    homeUnread: $('home-unread'), demoHint: $('demo-hint'),
    toasts: $('toasts'), note: $('panel-note'),
  };

  const s = {
    cfg: null,          // /config.json: {wsPort, demo}
    token: null,
    host: null,
    session: 0,         // bumped on login and logout: late answers check it
    unread: 0,
    latestId: 0,
    epoch: 0,           // bumped whenever the badge changes
    etag: null,         // of the last count applied, for If-None-Match
    items: new Map(),   // id -> {n, li}, the notifications in the list
    toasted: new Set(), // ids toasted since login: a toast each, at most
    cursor: null,       // the next page of the list; null: no more
    listLoaded: false,
    listGeneration: 0,  // bumped when the list starts again (loadList)
    ws: null,
    pollTimer: 0,
    behind: null,       // the list may lack what is above (markBehind)
    retryTimer: 0,      // the next login with the kept token (resume)
    noteTimer: 0,
    noteAbout: null,    // the failed mark-read the note tells of (markFailed)
    attempts: 0,        // logins begun: a later one supersedes
  };

  // ------------------------------------------------------------ server

  // fetch with a deadline: a connection that died silently would hold a
  // request (and a poll waiting for it) for minutes. The deadline covers
  // the body too.
  function fetchWithin(path, init = {}) {
    return fetch(path, { ...init, signal: AbortSignal.timeout(FETCH_MS) });
  }

  // How long a 429 or 503 asks to wait (Retry-After: seconds or a date),
  // else `fallback`; between a second and five minutes.
  function retryDelay(res, fallback = RETRY_MS) {
    const h = res ? (res.headers.get('Retry-After') || '').trim() : '';
    const date = Date.parse(h);
    let ms = fallback;
    if (/^\d+$/.test(h)) ms = Number(h) * 1000;
    else if (Number.isFinite(date)) ms = date - Date.now();
    return Math.min(Math.max(ms, 1000), 300000);
  }

  async function loadConfig() {
    if (!s.cfg) {
      const res = await fetchWithin('/config.json', { cache: 'no-store' });
      if (!res.ok) throw new Error('config: ' + res.status);
      s.cfg = await res.json();
    }
    return s.cfg;
  }

  // A REST call with the host's token. A 401 means the token expired or
  // the server's secret changed: back to the login form.
  async function api(path, { method = 'GET', body, headers = {} } = {}) {
    const init = {
      method,
      cache: 'no-store',
      headers: { Authorization: 'Bearer ' + s.token, ...headers },
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetchWithin(path, init);
    if (res.status === 401 && s.token) {
      logout('The server no longer accepts this token. Log in again.');
      throw new Error('unauthorized');
    }
    return res;
  }

  function claimsOf(token) {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(b64 + '==='.slice((b64.length + 3) % 4)));
    } catch {
      return null;
    }
  }

  // ------------------------------------------------------------ login

  // Logs in with `raw`: true when logged in, false when the token is
  // refused (not a host JWT, a 401, another 4xx), else the milliseconds to
  // wait before trying again (no answer, a 408, a 429, a 5xx): the server
  // could not say whether it takes the token.
  async function login(raw) {
    const token = raw.trim();
    const claims = claimsOf(token);
    if (!claims) return loginFailed('This is not a JWT.');
    if (claims.role !== 'host') {
      return loginFailed('This page is for host tokens; this token\'s role '
                         + 'is "' + claims.role + '".');
    }
    let res;
    let count;
    const attempt = ++s.attempts;
    try {
      await loadConfig();
      res = await fetchWithin('/notifications/count', {
        cache: 'no-store', headers: { Authorization: 'Bearer ' + token } });
      if (attempt !== s.attempts) return null;  // another login came since
      if (res.status === 401) {
        return loginFailed('The server refused this token (expired, or '
                           + 'signed with another secret).');
      }
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        ui.loginError.textContent = 'The server is '
          + (res.status === 429 ? 'busy' : 'unavailable') + ' (it answered '
          + res.status + ').';
        return retryDelay(res);
      }
      if (!res.ok) {
        return loginFailed('The server answered ' + res.status + '.');
      }
      count = await res.json();
      if (attempt !== s.attempts) return null;
    } catch {
      if (attempt !== s.attempts) return null;
      ui.loginError.textContent = 'Cannot reach the server.';
      return RETRY_MS;
    }
    const session = ++s.session;
    s.token = token;
    s.host = claims.sub;
    sessionStorage.setItem(TOKEN_KEY, token);
    showHome();
    if (applyCount(count)) s.etag = res.headers.get('ETag');
    try {
      await loadList(false);
    } catch {
      // The list loads again when the bell opens.
    }
    // after= replays what was created since the count: nothing is missed
    // between the count and the socket.
    if (session === s.session) connect(s.latestId);
    return true;
  }

  function loginFailed(message) {
    ui.loginError.textContent = message;
    return false;
  }

  // Logs in with the token this tab kept (or a link brought). Only a
  // refusal forgets it; while the server cannot answer, the login form
  // says so and the page tries again.
  async function resume(token) {
    clearTimeout(s.retryTimer);
    const result = await login(token);
    if (result === false) {
      sessionStorage.removeItem(TOKEN_KEY);
    } else if (typeof result === 'number') {
      ui.loginError.textContent += ' Trying again in '
        + Math.round(result / 1000) + ' s.';
      s.retryTimer = setTimeout(() => {
        if (!s.token) resume(token);
      }, result);
    }
  }

  function logout(message) {
    s.session++;
    clearTimeout(s.retryTimer);
    const ws = s.ws;
    s.ws = null;
    if (ws) {
      unwatchSocket(ws);
      ws.close(1000);
    }
    stopPolling();
    sessionStorage.removeItem(TOKEN_KEY);
    Object.assign(s, { token: null, host: null, unread: 0, latestId: 0,
                       etag: null, cursor: null, listLoaded: false,
                       behind: null });
    note('');
    s.items.clear();
    s.toasted.clear();
    ui.list.replaceChildren();
    ui.toasts.replaceChildren();  // they may name the last host's bookings
    renderBadge();
    togglePanel(false);
    ui.login.hidden = false;
    ui.home.hidden = true;
    ui.logout.hidden = true;
    ui.bell.disabled = true;
    ui.who.textContent = '';
    ui.who.title = '';
    setStatus('offline');
    ui.loginError.textContent = message || '';
  }

  function showHome() {
    ui.loginError.textContent = '';
    ui.login.hidden = true;
    ui.home.hidden = false;
    ui.logout.hidden = false;
    ui.bell.disabled = false;
    ui.who.textContent = s.host;
    ui.who.title = s.host;  // the bar cuts a long one short
    ui.homeTitle.textContent = 'Hello, ' + s.host;
    ui.demoHint.hidden = !(s.cfg && s.cfg.demo);
  }

  // ------------------------------------------------------------ badge

  // Applies a count snapshot. One with a smaller latestId than the badge's
  // is older: dropped. One with the same latestId is applied unless the
  // badge changed since it was asked for (`epoch`, for REST answers): a slow
  // answer must not undo a read event that overtook it.
  function applyCount(c, epoch) {
    if (!c || typeof c.unread !== 'number' || typeof c.latestId !== 'number')
      return false;
    if (c.latestId < s.latestId) return false;
    if (c.latestId === s.latestId && epoch !== undefined && epoch !== s.epoch)
      return false;
    setBadge(c.unread, c.latestId);
    return true;
  }

  // Applies a count read after login (REST, or a read event). One newer
  // than the badge counts notifications the page has not shown; the page
  // fetches them from the badge's latestId (showSince), as nothing else
  // would: the next poll compares with the latestId applied here.
  function applyNewer(c, epoch) {
    const shown = s.latestId;
    if (!applyCount(c, epoch)) return false;
    if (c.latestId > shown) showSince(shown);
    return true;
  }

  function setBadge(unread, latestId) {
    if (unread === s.unread && latestId === s.latestId) return;
    s.unread = Math.max(0, unread);
    s.latestId = latestId;
    s.epoch++;
    renderBadge();
  }

  function renderBadge() {
    ui.badge.textContent = String(s.unread);
    ui.badge.dataset.count = String(s.unread);
    ui.bell.setAttribute('aria-label', 'Notifications, ' + s.unread
                         + ' unread');
    ui.homeUnread.textContent = String(s.unread);
    const prefix = s.unread ? '(' + s.unread + ') ' : '';
    document.title = prefix + 'bellhop · host';
    ui.markAll.disabled = s.unread === 0;
  }

  // The count after a change made here (mark-read). Its answer carries
  // latestId, which the mark-read answer lacks.
  async function refreshCount() {
    const session = s.session;
    const epoch = s.epoch;
    const res = await api('/notifications/count');
    if (session !== s.session || !res.ok) return;
    const c = await res.json();
    if (session !== s.session) return;
    // An answer not applied must not leave its tag behind: the next poll
    // would get a 304 for a figure the badge does not show.
    s.etag = applyNewer(c, epoch) ? res.headers.get('ETag') : null;
  }

  function setStatus(state) {
    ui.status.textContent = state;
    ui.status.dataset.state = state;
  }

  // ------------------------------------------------------------ list

  // A page of the list: the newest (more false) or the next older one.
  // `fresh` starts the list again with the newest page, once it has come
  // (a failed read leaves the list as it was). An answer for a list that
  // was started again meanwhile is dropped: its cursor belongs to the old.
  async function loadList(more, fresh = false) {
    const session = s.session;
    const generation = fresh ? ++s.listGeneration : s.listGeneration;
    let path = '/notifications/list?limit=' + PAGE;
    if (more) path += '&cursor=' + encodeURIComponent(s.cursor);
    // Starting again: no load-more meanwhile (its cursor is the old list's).
    const oldCursor = s.cursor;
    if (fresh) {
      s.cursor = null;
      renderList();
    }
    let page = null;
    try {
      const res = await api(path);
      if (res.ok) page = await res.json();
      else if (session === s.session) throw new Error('list: ' + res.status);
    } finally {
      if (!page && fresh && session === s.session
          && generation === s.listGeneration) {
        s.cursor = oldCursor;
        renderList();
      }
    }
    if (session !== s.session || generation !== s.listGeneration) return;
    if (fresh) {
      // The old list goes, but for what the socket brought while the page
      // was read (newer than its newest): those stay on top.
      const top = page.items.length ? page.items[0].id : s.latestId;
      for (const [id, item] of s.items) {
        if (id <= top) {
          item.li.remove();
          s.items.delete(id);
        }
      }
    }
    page.items.forEach(upsert);
    s.cursor = page.nextCursor || null;
    s.listLoaded = true;
    renderList();
  }

  // Adds a notification to the list, newest first; true when it was new.
  function upsert(n) {
    const have = s.items.get(n.id);
    if (have) {
      if (n.readAt) markItemRead(n.id);
      return false;
    }
    const li = renderItem(n);
    let next = null;
    for (const child of ui.list.children) {
      if (Number(child.dataset.id) < n.id) {
        next = child;
        break;
      }
    }
    ui.list.insertBefore(li, next);
    s.items.set(n.id, { n, li });
    return true;
  }

  // An element with text from the server: its direction follows the text
  // (dir="auto"), so a right-to-left title reads right.
  function textEl(tag, cls, text) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    el.dir = 'auto';
    el.textContent = text;
    return el;
  }

  function renderItem(n) {
    const li = document.createElement('li');
    li.className = 'item';
    li.setAttribute('data-testid', 'notification-item');
    li.dataset.id = String(n.id);
    li.dataset.read = String(Boolean(n.readAt));
    const main = document.createElement('div');
    main.className = 'item-main';
    const time = document.createElement('time');
    time.className = 'time';
    time.dateTime = n.createdAt;
    time.textContent = new Date(n.createdAt).toLocaleString([], {
      dateStyle: 'medium', timeStyle: 'short' });
    main.append(textEl('div', 'title', n.title),
                textEl('div', 'body', n.body), time);
    const mark = document.createElement('button');
    mark.type = 'button';
    mark.className = 'link mark';
    mark.setAttribute('data-testid', 'mark-read');
    mark.textContent = 'Mark read';
    mark.hidden = Boolean(n.readAt);
    mark.addEventListener('click', () => markRead(n.id, mark));
    li.append(main, mark);
    return li;
  }

  function markItemRead(id) {
    const it = s.items.get(id);
    if (!it || it.li.dataset.read === 'true') return;
    it.n.readAt = it.n.readAt || new Date().toISOString();
    it.li.dataset.read = 'true';
    const mark = it.li.querySelector('[data-testid="mark-read"]');
    const focused = mark === document.activeElement;
    mark.hidden = true;
    if (focused) focusNear(it.li);
    if (s.noteAbout !== null && markDone(s.noteAbout)) note('');
  }

  // Whether what a mark-read asked for shows as done: `about` is an id, or
  // {upTo} for mark-all-read (every listed one up to it is read).
  function markDone(about) {
    const read = (it) => it.li.dataset.read === 'true';
    if (typeof about === 'number') {
      const it = s.items.get(about);
      return Boolean(it && read(it));
    }
    let listed = false;
    for (const [id, it] of s.items) {
      if (id > about.upTo) continue;
      if (!read(it)) return false;
      listed = true;
    }
    return listed;  // with none listed, the page cannot tell
  }

  // Focus leaves a mark-read button as it hides (else it would fall to the
  // page's body): to the next unread item's button, else the nearest one
  // above, else the list.
  function focusNear(li) {
    const marks = [...ui.list.querySelectorAll(
      '[data-testid="mark-read"]:not([hidden])')];
    const after = marks.find((b) => li.compareDocumentPosition(b)
                                    & Node.DOCUMENT_POSITION_FOLLOWING);
    (after || marks[marks.length - 1] || ui.list).focus();
  }

  // A short message in the list's head for a mark-read that failed; it
  // goes after NOTE_MS, or with the next one.
  function note(text) {
    clearTimeout(s.noteTimer);
    s.noteAbout = null;
    ui.note.textContent = text;
    ui.note.hidden = !text;
    if (text) s.noteTimer = setTimeout(() => note(''), NOTE_MS);
  }

  // Says why a mark-read did nothing: `res` is its answer, or null when
  // none came; `about` as markDone has it. Nothing is said when the page
  // shows it done all the same (its read event came, say, and the answer
  // did not), and the message goes once it does.
  function markFailed(res, about) {
    if (!s.token) return;  // a 401 logged out
    if (markDone(about)) return;
    if (!res) note('Not marked read: no answer from the server.');
    else if (res.status === 429 || res.status === 503) {
      note('Not marked read: '
           + (res.status === 429 ? 'too many requests' : 'server unavailable')
           + '. Try again in ' + Math.round(retryDelay(res) / 1000) + ' s.');
    } else note('Not marked read: the server answered ' + res.status + '.');
    s.noteAbout = about;
  }

  function renderList() {
    ui.empty.hidden = s.items.size > 0;
    ui.loadMore.hidden = !s.cursor;
  }

  // The button is aria-disabled while the request runs, not disabled: a
  // disabled button loses the keyboard's focus.
  async function markRead(id, button) {
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    let res = null;
    try {
      res = await api('/notifications/mark-read',
                      { method: 'POST', body: { ids: [id] } });
    } catch {
      // No answer: the item stays unread and can be marked again.
    }
    button.removeAttribute('aria-disabled');
    if (!res || !res.ok) {
      markFailed(res, id);
      return;
    }
    note('');
    markItemRead(id);
    await refreshCount().catch(() => {});
  }

  // Marks what this page has shown (up to the badge's latestId), not what
  // may have arrived since.
  async function markAllRead() {
    const upTo = s.latestId;
    if (!upTo) return;
    const focused = document.activeElement === ui.markAll;
    ui.markAll.disabled = true;
    let res = null;
    try {
      res = await api('/notifications/mark-read',
                      { method: 'POST', body: { upTo } });
      if (res.ok) {
        note('');
        for (const id of s.items.keys()) if (id <= upTo) markItemRead(id);
        await refreshCount();
      }
    } catch {
      // No answer, or none to the count: said below if the first.
    }
    if (!res || !res.ok) markFailed(res, { upTo });
    ui.markAll.disabled = s.unread === 0;
    // Disabled, it lost the focus: back to it, or to the list.
    if (focused && s.token)
      (ui.markAll.disabled ? ui.list : ui.markAll).focus();
  }

  // Another device read notifications while this page had no socket (no
  // read event): ask which are still unread and mark the others.
  async function syncReadState() {
    if (!s.items.size) return;
    const session = s.session;
    const res = await api('/notifications/list?unread=true&limit=100');
    if (session !== s.session || !res.ok) return;
    const page = await res.json();
    const unread = new Set(page.items.map((n) => n.id));
    // Newest first: every id above the oldest listed one that is missing
    // from the page is read; below it, only when the page is complete.
    const oldest = page.items.length ? page.items[page.items.length - 1].id
                                     : Infinity;
    for (const id of s.items.keys()) {
      if (!unread.has(id) && (!page.nextCursor || id > oldest))
        markItemRead(id);
    }
  }

  function togglePanel(open) {
    ui.panel.hidden = !open;
    ui.bell.setAttribute('aria-expanded', String(open));
    if (open && !s.listLoaded && s.token) loadList(false).catch(() => {});
  }

  // ------------------------------------------------------------ toasts

  // Toasts an unread notification the host has not been shown: once per
  // login, and not after it was read here (a REST read may list it first).
  function toastOnce(n) {
    const have = s.items.get(n.id);
    if (n.readAt || s.toasted.has(n.id)
        || (have && have.li.dataset.read === 'true')) return;
    s.toasted.add(n.id);
    toast(n);
  }

  function toast(n) {
    const t = document.createElement('div');
    t.className = 'toast';
    t.setAttribute('data-testid', 'toast');
    t.append(textEl('strong', '', n.title), textEl('span', '', n.body));
    t.addEventListener('click', (e) => {
      e.stopPropagation();  // the document's click would close the panel
      t.remove();
      if (s.token) togglePanel(true);
    });
    ui.toasts.append(t);
    while (ui.toasts.children.length > MAX_TOASTS)
      ui.toasts.firstElementChild.remove();
    setTimeout(() => t.remove(), TOAST_MS);
  }

  // ------------------------------------------------------------ socket

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

  // Notes that what lies above `after` may be missing from the list though
  // the badge counts it (a catch-up that failed, a socket given up): the
  // next socket starts from there (connect), opened by the next poll that
  // gets an answer if nothing else opens one first.
  function markBehind(after) {
    s.behind = s.behind === null ? after : Math.min(s.behind, after);
  }

  // Shows the notifications above `after` that a count announced. Without
  // a socket one opens with after=, whose replay brings them with toasts,
  // as after a poll. With one open they were not pushed (realtime off):
  // the list gets them by REST. A socket still opening replays from an
  // after= no newer than this one.
  function showSince(after) {
    if (!s.ws) connect(after);
    else if (s.ws.readyState === WebSocket.OPEN) fillGap(after);
    else markBehind(after);  // closing: the next socket replays them
  }

  // Reads by REST what a socket did not bring: the socket replays only the
  // 100 oldest notifications above `after`, none when it cannot open, and
  // none of a category whose realtime is off. Pages of 100, at most 5; the
  // list drops duplicates. Further behind than that, the list starts again
  // from the newest page (load-more goes down from there), so that it never
  // lacks the newest ones. One that fails is marked (markBehind): the badge
  // already counts what it was to list. `toasts`: in place of a socket
  // that never said hello, whose replay would have toasted them.
  async function catchUp(after, toasts = false) {
    const session = s.session;
    let done = false;
    try {
      done = await catchUpPages(after, toasts);
    } finally {
      if (session === s.session && !done) markBehind(after);
    }
  }

  // catchUp's reads; true once they are done, false if one failed.
  async function catchUpPages(after, toasts) {
    const session = s.session;
    let path = '/notifications/list?limit=100&after=' + after;
    for (let i = 0; i < 5; i++) {
      const res = await api(path);
      if (session !== s.session) return true;
      if (!res.ok) return false;
      const page = await res.json();
      if (session !== s.session) return true;
      for (const n of page.items) {
        upsert(n);
        if (toasts) toastOnce(n);
      }
      renderList();
      if (!page.nextCursor) return true;
      path = '/notifications/list?limit=100&cursor='
        + encodeURIComponent(page.nextCursor);
    }
    await loadList(false, true);
    return true;
  }

  // Catch-ups and count reads for gaps in the live ids, one at a time: a
  // gap while one runs makes one more run after it (from the oldest gap),
  // so a stream of gaps costs two requests at a time, not one per gap.
  let gapRun = null;
  let gapFrom = null;     // the oldest gap waiting for a read
  let gapSession = 0;     // the login gapFrom belongs to

  function fillGap(after) {
    if (gapSession !== s.session) {
      gapSession = s.session;
      gapFrom = null;
    }
    gapFrom = gapFrom === null ? after : Math.min(gapFrom, after);
    if (gapRun) return;
    const from = gapFrom;
    gapFrom = null;
    gapRun = Promise.allSettled([refreshCount(), catchUp(from)]).then(() => {
      gapRun = null;
      if (gapFrom !== null && gapSession === s.session) fillGap(gapFrom);
    });
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

  // ------------------------------------------------------------ polling

  function startPolling() {
    if (!s.token) return;
    setStatus('polling');
    schedulePoll();
  }

  function stopPolling() {
    clearTimeout(s.pollTimer);
    s.pollTimer = 0;
  }

  function schedulePoll() {
    stopPolling();
    s.pollTimer = setTimeout(poll, POLL_MS);
  }

  async function poll() {
    const session = s.session;
    if (!s.token || s.ws) return;
    const epoch = s.epoch;
    try {
      const res = await api('/notifications/count', {
        headers: s.etag ? { 'If-None-Match': s.etag } : {} });
      if (session !== s.session || s.ws) return;
      if (res.status === 200) {
        const c = await res.json();
        if (session !== s.session || s.ws) return;
        // A newer latestId reconnects with after= the one the page had: its
        // replay brings what is new, with toasts.
        s.etag = applyNewer(c, epoch) ? res.headers.get('ETag') : null;
        syncReadState().catch(() => {});
        if (s.ws) return;
      } else if (res.status !== 304) {
        throw new Error('count: ' + res.status);
      }
      if (s.behind !== null) {
        connect(s.behind);  // the server answers again: fetch what is missing
        if (s.ws) return;
      }
      setStatus('polling');
    } catch {
      if (session !== s.session) return;
      setStatus('offline');
    }
    if (session === s.session && s.token && !s.ws) schedulePoll();
  }

  // ------------------------------------------------------------ start

  function wire() {
    ui.form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = ui.form.querySelector('button');
      button.disabled = true;
      clearTimeout(s.retryTimer);  // this token replaces the kept one
      const result = await login(ui.tokenInput.value);
      if (result === true) ui.tokenInput.value = '';
      else if (result) ui.loginError.textContent += ' Try again in a moment.';
      button.disabled = false;
    });
    ui.bell.addEventListener('click', () => togglePanel(ui.panel.hidden));
    // aria-disabled while it loads, not disabled: a disabled button loses
    // the keyboard's focus, and the host pages on with Enter.
    ui.loadMore.addEventListener('click', async () => {
      if (ui.loadMore.getAttribute('aria-disabled') === 'true') return;
      const focused = document.activeElement === ui.loadMore;
      ui.loadMore.setAttribute('aria-disabled', 'true');
      try {
        await loadList(true);
      } catch {
        // Try again with the button.
      }
      ui.loadMore.removeAttribute('aria-disabled');
      // The last page hides the button: the focus goes to the list.
      if (focused && ui.loadMore.hidden) ui.list.focus();
    });
    ui.markAll.addEventListener('click', markAllRead);
    ui.logout.addEventListener('click', () => logout(''));
    document.addEventListener('click', (e) => {
      if (!ui.panel.hidden && !e.target.closest('.bell-wrap'))
        togglePanel(false);
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !ui.panel.hidden) {
        togglePanel(false);
        ui.bell.focus();
      }
    });
  }

  // A link with ?token= logs in once; the token leaves the address bar (and
  // the history) at once and lives in sessionStorage, for this tab only,
  // unless the server refuses it: a reload while the server is unavailable
  // still has it.
  function tokenFromUrl() {
    const params = new URLSearchParams(location.search);
    const token = params.get('token');
    if (token === null) return null;
    if (token.trim()) sessionStorage.setItem(TOKEN_KEY, token.trim());
    params.delete('token');
    const rest = params.toString();
    history.replaceState(history.state, '',
                         location.pathname + (rest ? '?' + rest : '')
                         + location.hash);
    return token;
  }

  wire();
  renderBadge();
  const token = tokenFromUrl() || sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    resume(token);
  } else {
    loadConfig().catch(() => {});
  }
})();
