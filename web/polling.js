// While the socket is closed: the count every POLL_MS with its ETag; a
// newer latestId opens a socket again with after=, whose replay brings what
// is new.
'use strict';

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
