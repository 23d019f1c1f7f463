// The list under the bell: pages of /notifications/list, newest first, one
// element per notification (upsert), opened and closed with the bell.
'use strict';

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

function renderList() {
  ui.empty.hidden = s.items.size > 0;
  ui.loadMore.hidden = !s.cursor;
}

function togglePanel(open) {
  ui.panel.hidden = !open;
  ui.bell.setAttribute('aria-expanded', String(open));
  if (open && !s.listLoaded && s.token) loadList(false).catch(() => {});
}
