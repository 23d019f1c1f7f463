// The host page's login and logout: a host token checked by asking the
// count, kept in sessionStorage for this tab, tried again while the server
// cannot answer; logout forgets everything the last host saw.
'use strict';

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
