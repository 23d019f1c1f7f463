// The host page's requests (API.md §8): every fetch has a deadline
// (FETCH_MS), REST calls carry the host's token, and a 401 logs out.
'use strict';

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
