// Toasts: one per new unread notification, at most MAX_TOASTS at once, each
// for TOAST_MS; a click opens the list.
'use strict';

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
