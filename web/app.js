// The host page (API.md §8): login, the unread badge, the list under the
// bell, a toast per new notification, and the short-lived socket (§5) with
// its fallback: once the socket closes (TTL), poll the count with its ETag
// every 5 s and reconnect with after=<latestId> when it shows something new.
//
// The badge is a snapshot {unread, latestId}, where latestId is the newest
// notification the unread figure accounts for; badge.js says which
// snapshots it takes.
//
// Connections may die without a word (sleep, a new network): every request
// has a deadline (FETCH_MS) and the socket a watchdog (watchSocket).
//
// Each concern is a script of its own, run in this order (index.html):
// state.js (settings, elements, state), server.js (requests), login.js,
// badge.js, list.js, mark-read.js, toasts.js, socket.js, catch-up.js,
// polling.js, and this one, which wires the page's controls and starts it.
'use strict';

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

function start() {
  wire();
  renderBadge();
  const token = tokenFromUrl() || sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    resume(token);
  } else {
    loadConfig().catch(() => {});
  }
}

start();
