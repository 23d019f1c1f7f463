// Mark-read, for one notification and for all the page has shown; what the
// list shows as read, what the page says when a mark-read fails, and the
// read state another device changed while this page had no socket.
'use strict';

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
