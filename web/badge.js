// The unread badge: a snapshot {unread, latestId} from /notifications/count,
// the socket's hello and read events, and each new notification (+1). One
// older than the badge is dropped (applyCount); one newer than it is applied
// only together with a fetch of what lies between (applyNewer).
'use strict';

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
