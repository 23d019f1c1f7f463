// The host page's settings, its elements (`ui`) and its state (`s`): what
// every other script of the page reads and changes. The scripts are classic
// ones that share the page's one global scope, run in the order index.html
// lists them (app.js, last, starts the page); no other script runs on it.
'use strict';

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
