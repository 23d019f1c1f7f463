// What a socket did not bring: notifications above a latestId that a count
// announced, a replay cut at 100, a gap in the live ids (realtime off for a
// category). They are read by REST, or by the next socket's replay.
'use strict';

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
