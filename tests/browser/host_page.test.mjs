// End-to-end tests of the host page (API.md §8) and the demo (§9 --demo) in
// a real headless Chromium against the real `bellhop serve`.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import {
  book, launch, noPageErrors, rest, startServer, token, unread, until,
} from './bellhop.mjs';

const badgeOf = (page) => page.getByTestId('badge').textContent();
const statusOf = (page) => page.getByTestId('connection-status').textContent();
const items = (page) => page.getByTestId('notification-item');

/** Opens the host page logged in through a /?token= link. */
async function openAs(context, base, host) {
  const page = await context.newPage();
  await page.goto(base + '/?token=' + token(host, 'host'));
  await page.getByTestId('bell').waitFor();
  await until('the page to log in', async () =>
    !(await page.getByTestId('bell').isDisabled()));
  return page;
}

/**
 * Records, from the page's start, every text the connection status shows in
 * `window.statusLog`: a socket that lives 1.5 s is not caught by polling.
 */
async function recordStatus(context) {
  await context.addInitScript(() => {
    window.statusLog = [];
    document.addEventListener('DOMContentLoaded', () => {
      const el = document.querySelector('[data-testid="connection-status"]');
      window.statusLog.push(el.textContent);
      new MutationObserver(() => window.statusLog.push(el.textContent))
        .observe(el, { childList: true, characterData: true, subtree: true });
    });
  });
}

const statusLog = (page, from = 0) =>
  page.evaluate((m) => window.statusLog.slice(m), from);

/**
 * Routes the page's sockets through Playwright. The first `silent` sockets
 * pass the server's hello, then nothing either way, not even the server's
 * close: a connection that died without a word. The others pass everything.
 * Returns {sockets, fromPage}: the URL of each socket, and the frames the
 * page sent on the silent ones.
 */
async function silenceSockets(page, silent = 1) {
  const sockets = [];
  const fromPage = [];
  await page.routeWebSocket((url) => url.pathname === '/ws', (ws) => {
    sockets.push(ws.url());
    const server = ws.connectToServer();
    if (sockets.length > silent) return;
    let frames = 0;
    server.onMessage((m) => {
      if (frames++ === 0) ws.send(m);
    });
    server.onClose(() => {});
    ws.onMessage((m) => fromPage.push(String(m)));
    ws.onClose(() => server.close());
  });
  return { sockets, fromPage };
}

/** Counts the page's requests for `pathname`. */
function countRequests(page, pathname) {
  const seen = { n: 0 };
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === pathname) seen.n++;
  });
  return seen;
}

describe('host page', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer(['--ws-ttl-ms', '1500']);
    browser = await launch();
  });

  afterEach(() => noPageErrors(browser));

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('logs in through the form; the badge is the REST count', async () => {
    const host = 'h-form';
    await book(server.base, host, 'r-1');
    await book(server.base, host, 'r-2');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.base + '/');
    assert.equal(await statusOf(page), 'offline');
    await page.getByTestId('token-input').fill(token(host, 'host'));
    await page.getByTestId('login-button').click();
    await until('badge 2', async () => (await badgeOf(page)) === '2');
    assert.equal(String(await unread(server.base, host)), '2');
    await context.close();
  });

  it('refuses a guest token in the form', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(server.base + '/');
    await page.getByTestId('token-input').fill(token('g-1', 'guest'));
    await page.getByTestId('login-button').click();
    await until('an error', () => page.locator('#login-error').textContent());
    assert.ok(await page.getByTestId('bell').isDisabled());
    await context.close();
  });

  it('logs in with /?token= and removes it from the address bar',
     async () => {
       const host = 'h-link';
       await book(server.base, host, 'r-1');
       const context = await browser.newContext();
       const page = await context.newPage();
       await page.goto(server.base + '/?token=' + token(host, 'host')
                       + '&lang=en#top');
       await until('badge 1', async () => (await badgeOf(page)) === '1');
       const url = new URL(page.url());
       assert.equal(url.searchParams.get('token'), null);
       assert.equal(url.search, '?lang=en');
       assert.equal(url.hash, '#top');
       // The token lives in sessionStorage: a reload stays logged in.
       await page.reload();
       await until('badge 1 after reload',
                   async () => (await badgeOf(page)) === '1');
       await context.close();
     });

  it('shows a toast and the badge for a booking, lists it, marks read, '
     + 'falls back to polling and reconnects, and agrees across devices',
     async () => {
       const host = 'h-main';
       const service = token('svc', 'service');
       // 22 older notifications: more than one page of the list.
       for (let i = 1; i <= 22; i++) {
         const r = await rest(server.base, 'POST', '/notifications', service,
                              { hostId: host, type: 'system',
                                title: 'Notice ' + i, body: 'body ' + i });
         assert.equal(r.status, 201);
       }
       const context = await browser.newContext();
       await recordStatus(context);
       const page = await openAs(context, server.base, host);
       await until('badge 22', async () => (await badgeOf(page)) === '22');

       // A booking after the socket opened: toast, badge + 1 (live, or by
       // polling should the 1.5 s TTL have passed on a slow machine).
       await until('live',
                   async () => (await statusLog(page)).includes('live'));
       const first = await book(server.base, host, 'r-12');
       const title = 'New booking: r-12';
       await page.getByTestId('toast').filter({ hasText: title }).waitFor();
       await until('badge 23', async () => (await badgeOf(page)) === '23');
       assert.equal(await unread(server.base, host), 23);

       // The bell opens the list, newest first, with load-more.
       await page.getByTestId('bell').click();
       const top = items(page).first();
       assert.equal(await top.getAttribute('data-id'),
                    String(first.notification.id));
       assert.match(await top.textContent(), /New booking: r-12/);
       assert.equal(await top.getAttribute('data-read'), 'false');
       // The first page (20) was loaded at login; the live one came on top.
       assert.equal(await items(page).count(), 21);
       await page.getByTestId('load-more').click();
       await until('23 items', async () => (await items(page).count()) === 23);
       assert.ok(await page.getByTestId('load-more').isHidden());

       // Mark one read.
       await top.getByTestId('mark-read').click();
       await until('item read', async () =>
         (await top.getAttribute('data-read')) === 'true');
       await until('badge 22 after mark-read',
                   async () => (await badgeOf(page)) === '22');
       assert.equal(await unread(server.base, host), 22);

       // After the TTL the page polls; a new booking is picked up by
       // polling, and the page reconnects with after=.
       await until('polling',
                   async () => (await statusOf(page)) === 'polling');
       const marker = await page.evaluate(() => window.statusLog.length);
       await book(server.base, host, 'r-13');
       await page.getByTestId('toast')
         .filter({ hasText: 'New booking: r-13' }).waitFor({ timeout: 12000 });
       await until('badge 23 by polling',
                   async () => (await badgeOf(page)) === '23');
       const log = await statusLog(page, marker);
       assert.ok(log.includes('live'), 'reconnected: ' + log.join(' '));
       assert.match(await items(page).first().textContent(), /r-13/);

       // A second device of the same host sees the first one's mark-read.
       const context2 = await browser.newContext();
       const other = await openAs(context2, server.base, host);
       await until('second badge 23',
                   async () => (await badgeOf(other)) === '23');
       await page.getByTestId('mark-all-read').click();
       await until('badge 0', async () => (await badgeOf(page)) === '0');
       assert.equal(await unread(server.base, host), 0);
       for (const it of await items(page).all())
         assert.equal(await it.getAttribute('data-read'), 'true');
       await until('second badge 0',
                   async () => (await badgeOf(other)) === '0', 12000);
       await other.getByTestId('bell').click();
       await until('second device items read', async () => {
         const flags = await items(other).evaluateAll(
           (els) => els.map((e) => e.dataset.read));
         return flags.length > 0 && flags.every((f) => f === 'true');
       });
       await context2.close();
       await context.close();
     });

  it('acks what it shows, polls the count with its ETag, and reconnects '
     + 'with after=', async () => {
    const host = 'h-wire';
    const first = await book(server.base, host, 'r-1');
    const context = await browser.newContext();
    const page = await context.newPage();
    const sockets = [];   // URL of every socket the page opened
    const sent = [];      // every frame the page sent
    const polls = [];     // If-None-Match of every count request
    page.on('websocket', (ws) => {
      sockets.push(ws.url());
      ws.on('framesent', (f) => sent.push(String(f.payload)));
    });
    page.on('request', (req) => {
      if (new URL(req.url()).pathname === '/notifications/count')
        polls.push(req.headers()['if-none-match'] ?? null);
    });
    await page.goto(server.base + '/?token=' + token(host, 'host'));
    await until('a socket', () => sockets.length >= 1);
    // The first socket starts after the count: after= its latestId.
    assert.match(sockets[0], new RegExp('[?&]after='
                                        + first.notification.id + '(&|$)'));

    // A notification shown live is acked by id.
    await until('the socket is live', async () =>
      (await statusOf(page)) === 'live');
    const live = await book(server.base, host, 'r-2');
    const ack = JSON.stringify({ op: 'ack', id: live.notification.id });
    await until('the ack', () => sent.some(
      (f) => JSON.stringify(JSON.parse(f)) === ack));

    // After the TTL the page polls: with the ETag of what it shows, and
    // no more often than every 5 s or so.
    await until('polling', async () => (await statusOf(page)) === 'polling');
    const before = polls.length;
    await until('two conditional polls', () =>
      polls.slice(before).filter((tag) => tag).length >= 2, 15000);
    assert.ok(polls.length - before <= 3, 'polls: ' + polls.join(' '));

    // Something new: the page reconnects after what it had.
    const opened = sockets.length;
    await book(server.base, host, 'r-3');
    await until('a new socket', () => sockets.length > opened, 12000);
    assert.match(sockets[opened], new RegExp('[?&]after='
                                             + live.notification.id
                                             + '(&|$)'));
    await context.close();
  });

  it('shows the connection status in the contract\'s words, as rendered',
     async () => {
       const host = 'h-status';
       const context = await browser.newContext();
       const page = await context.newPage();
       await page.goto(server.base + '/');
       const status = page.getByTestId('connection-status');
       assert.equal(await status.innerText(), 'offline');
       await page.getByTestId('token-input').fill(token(host, 'host'));
       await page.getByTestId('login-button').click();
       await until('live', async () => (await status.innerText()) === 'live');
       await until('polling',
                   async () => (await status.innerText()) === 'polling');
       await context.close();
     });

  it('keeps the token through a reload while the server is unavailable, '
     + 'and logs in once it answers', async () => {
    const host = 'h-unavailable';
    await book(server.base, host, 'r-1');
    const context = await browser.newContext();
    const page = await openAs(context, server.base, host);
    const stored = () => page.evaluate(
      () => sessionStorage.getItem('bellhop.token'));
    const kept = await stored();
    assert.ok(kept);
    const loginError = page.locator('#login-error');
    const answers = [
      (r) => r.fulfill({ status: 503, headers: { 'Retry-After': '1' },
                         contentType: 'application/json',
                         body: '{"error":{"code":"unavailable"}}' }),
      (r) => r.fulfill({ status: 429, headers: { 'Retry-After': '1' },
                         contentType: 'application/json',
                         body: '{"error":{"code":"rate_limited"}}' }),
      (r) => r.abort('connectionrefused'),
    ];
    let answer = answers[0];
    await context.route('**/notifications/count', (r) => answer(r));
    for (const [i, said] of [/unavailable \(it answered 503\)/,
                             /busy \(it answered 429\)/,
                             /Cannot reach the server/].entries()) {
      answer = answers[i];
      await page.reload();
      await until('the login form says ' + said, async () =>
        said.test(await loginError.textContent()));
      assert.match(await loginError.textContent(), /Trying again in \d+ s/);
      assert.ok(await page.locator('#login').isVisible());
      assert.equal(await stored(), kept);
    }
    // The server answers again: the page logs in by itself.
    await context.unroute('**/notifications/count');
    await until('logged in again', async () =>
      !(await page.getByTestId('bell').isDisabled()), 15000);
    await until('badge 1', async () => (await badgeOf(page)) === '1');
    assert.ok(await page.locator('#login').isHidden());

    // A link opened while the server is unavailable: the token leaves the
    // address bar, stays in the tab, and logs in later.
    const link = await context.newPage();
    answer = answers[0];
    await context.route('**/notifications/count', (r) => answer(r));
    await link.goto(server.base + '/?token=' + token(host, 'host'));
    await until('unavailable', async () =>
      /unavailable/.test(await link.locator('#login-error').textContent()));
    assert.equal(new URL(link.url()).search, '');
    await context.unroute('**/notifications/count');
    await until('the link logs in', async () =>
      (await badgeOf(link)) === '1', 15000);

    // A 401 still forgets the token.
    await page.evaluate((t) => sessionStorage.setItem('bellhop.token', t),
                        token(host, 'host', { secret: 'another-secret-'
                                                      + '0123456789abcdef' }));
    await page.reload();
    await until('refused', async () =>
      /refused/.test(await loginError.textContent()));
    assert.equal(await stored(), null);
    await context.close();
  });
});

describe('host page with a socket without TTL', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer(['--ws-ttl-ms', '0']);
    browser = await launch();
  });

  afterEach(() => noPageErrors(browser));

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('acks a burst of 30 notifications within the 20 messages/s limit',
     async () => {
       const host = 'h-burst';
       const context = await browser.newContext();
       const page = await openAs(context, server.base, host);
       await until('live', async () => (await statusOf(page)) === 'live');
       const service = token('svc', 'service');
       await Promise.all(Array.from({ length: 30 }, (_, i) =>
         rest(server.base, 'POST', '/notifications', service,
              { hostId: host, type: 'system', title: 'Burst ' + i,
                body: 'b' })));
       await until('30 items', async () => (await items(page).count()) === 30);
       const admin = token('admin-1', 'admin');
       const acked = await until('30 acked', async () => {
         const r = await rest(server.base, 'GET', '/admin/audit?hostId='
                              + host + '&limit=100', admin);
         const ids = r.json.items.filter((e) => e.action === 'acked')
           .map((e) => e.notificationId);
         return ids.length === 30 && ids;
       });
       assert.deepEqual([...acked].sort((a, b) => a - b),
                        Array.from({ length: 30 }, (_, i) => i + 1));
       // The socket was not closed for flooding.
       assert.equal(await statusOf(page), 'live');
       await context.close();
     });

  it('lists a notification of a category that is not pushed', async () => {
    const host = 'h-gap';
    const hostToken = token(host, 'host');
    const prefs = (await rest(server.base, 'GET', '/preferences', hostToken))
      .json;
    prefs.channels.review.realtime = false;
    assert.equal((await rest(server.base, 'PUT', '/preferences', hostToken,
                             prefs)).status, 200);
    const context = await browser.newContext();
    const page = await openAs(context, server.base, host);
    await until('live', async () => (await statusOf(page)) === 'live');
    const service = token('svc', 'service');
    const post = async (type, title) => (await rest(
      server.base, 'POST', '/notifications', service,
      { hostId: host, type, title, body: 'b' })).json.notification.id;
    const quiet = await post('new_review', 'Quiet review');
    const loud = await post('system', 'Loud notice');
    await page.getByTestId('toast').filter({ hasText: 'Loud notice' })
      .waitFor();
    await until('badge 2', async () => (await badgeOf(page)) === '2');
    // The review came by no push: the gap before the notice brings it.
    await page.getByTestId('bell').click();
    await until('both listed', async () => (await items(page).count()) === 2);
    assert.deepEqual(await items(page).evaluateAll(
      (els) => els.map((e) => Number(e.dataset.id))), [loud, quiet]);
    assert.equal(await page.getByTestId('toast')
      .filter({ hasText: 'Quiet review' }).count(), 0);
    await context.close();
  });

  it('keeps long ids and words inside toasts and the list; text sets its '
     + 'direction', async () => {
    const host = 'h-long';
    const context = await browser.newContext({
      viewport: { width: 1000, height: 700 } });
    const page = await openAs(context, server.base, host);
    await until('live', async () => (await statusOf(page)) === 'live');
    // §3's longest ids, and long unbroken words from a service.
    const room = 'Ocean-View-Deluxe-Suite-With-Balcony-And-Jacuzzi-'
      + 'Second-Floor-01';
    assert.equal(room.length, 64);
    await book(server.base, host, room, 'guest.' + 'x'.repeat(58));
    const service = token('svc', 'service');
    for (const title of ['X'.repeat(200), 'حجز جديد: غرفة 12']) {
      const r = await rest(server.base, 'POST', '/notifications', service,
                           { hostId: host, type: 'system', title,
                             body: 'Y'.repeat(300) });
      assert.equal(r.status, 201);
    }
    await until('3 toasts', async () =>
      (await page.getByTestId('toast').count()) === 3);
    await page.getByTestId('bell').click();
    await until('3 items', async () => (await items(page).count()) === 3);
    const layout = await page.evaluate(() => {
      const texts = [...document.querySelectorAll(
        '[data-testid="toast"] > *, [data-testid="notification-item"] .title,'
        + ' [data-testid="notification-item"] .body')];
      const boxes = [...document.querySelectorAll(
        '[data-testid="toast"], #panel')];
      return {
        texts: texts.length,
        overflowing: texts.filter((e) => e.scrollWidth > e.clientWidth)
          .map((e) => e.textContent.slice(0, 20)),
        wide: boxes.filter((e) => e.scrollWidth > e.clientWidth
                           || e.getBoundingClientRect().right > innerWidth)
          .map((e) => e.className),
        notAuto: texts.filter((e) => e.dir !== 'auto').length,
        rtl: texts.filter((e) => getComputedStyle(e).direction === 'rtl')
          .map((e) => e.textContent),
      };
    });
    assert.equal(layout.texts, 12);
    assert.deepEqual(layout.overflowing, []);
    assert.deepEqual(layout.wide, []);
    assert.equal(layout.notAuto, 0);
    assert.deepEqual(layout.rtl, ['حجز جديد: غرفة 12', 'حجز جديد: غرفة 12']);
    await context.close();
  });

  it('says why a mark-read failed, and keeps the keyboard\'s focus in the '
     + 'list', async () => {
    const host = 'h-keys';
    await book(server.base, host, 'r-1');
    await book(server.base, host, 'r-2');
    const context = await browser.newContext();
    const page = await openAs(context, server.base, host);
    await until('badge 2', async () => (await badgeOf(page)) === '2');
    await page.getByTestId('bell').click();
    await until('2 items', async () => (await items(page).count()) === 2);
    const [top, second] = await items(page).all();
    const note = page.locator('#panel-note');

    // Answered 429: the item stays unread and the list says why.
    await context.route('**/notifications/mark-read', (r) => r.fulfill({
      status: 429, headers: { 'Retry-After': '3' },
      contentType: 'application/json',
      body: '{"error":{"code":"rate_limited","message":"slow down"}}' }));
    await top.getByTestId('mark-read').click();
    await until('a message', () => note.isVisible());
    assert.match(await note.textContent(),
                 /Not marked read: too many requests\. Try again in 3 s/);
    assert.equal(await top.getAttribute('data-read'), 'false');
    await page.getByTestId('mark-all-read').click();
    await until('a message for mark-all', async () =>
      /too many requests/.test(await note.textContent()));
    assert.equal(await unread(server.base, host), 2);
    await context.unroute('**/notifications/mark-read');

    // By keyboard: the focus moves to the next unread item's button, then,
    // with none left, to the list.
    const active = () => page.evaluate(() => {
      const a = document.activeElement;
      return a.closest('[data-testid="notification-item"]')?.dataset.id
        + ' ' + (a.dataset.testid || a.id || a.tagName);
    });
    await top.getByTestId('mark-read').focus();
    await page.keyboard.press('Enter');
    await until('top read', async () =>
      (await top.getAttribute('data-read')) === 'true');
    assert.ok(await note.isHidden());
    const secondId = await second.getAttribute('data-id');
    assert.equal(await active(), secondId + ' mark-read');
    await page.keyboard.press('Enter');
    await until('second read', async () =>
      (await second.getAttribute('data-read')) === 'true');
    assert.equal(await active(), 'undefined list');
    await until('badge 0', async () => (await badgeOf(page)) === '0');
    await context.close();
  });

  it('does not say a mark-read failed when its read event showed it done',
     async () => {
       const host = 'h-lost-answer';
       await book(server.base, host, 'r-1');
       const context = await browser.newContext();
       const page = await openAs(context, server.base, host);
       await until('live', async () => (await statusOf(page)) === 'live');
       await page.getByTestId('bell').click();
       await until('1 item', async () => (await items(page).count()) === 1);
       const item = items(page).first();
       // The server marks it read and its read event comes; the answer is
       // lost after that (a connection that broke, say).
       await context.route('**/notifications/mark-read', async (r) => {
         await r.fetch();
         await until('read by the event', async () =>
           (await item.getAttribute('data-read')) === 'true');
         await r.abort('connectionreset');
       });
       await item.getByTestId('mark-read').click();
       await until('badge 0', async () => (await badgeOf(page)) === '0');
       await page.waitForTimeout(500);
       assert.ok(await page.locator('#panel-note').isHidden());
       assert.equal(await item.getAttribute('data-read'), 'true');
       await context.close();
     });

  it('keeps the keyboard on load more until the last page', async () => {
    const host = 'h-pages';
    const service = token('svc', 'service');
    for (let i = 0; i < 45; i++) {
      await rest(server.base, 'POST', '/notifications', service,
                 { hostId: host, type: 'system', title: 'Page ' + i,
                   body: 'b' });
    }
    const context = await browser.newContext();
    const page = await openAs(context, server.base, host);
    await page.getByTestId('bell').click();
    await until('20 items', async () => (await items(page).count()) === 20);
    const more = page.getByTestId('load-more');
    await more.focus();
    await page.keyboard.press('Enter');
    await until('40 items', async () => (await items(page).count()) === 40);
    assert.equal(await page.evaluate(() => document.activeElement.id),
                 'load-more');
    await page.keyboard.press('Enter');
    await until('45 items', async () => (await items(page).count()) === 45);
    assert.ok(await more.isHidden());
    assert.equal(await page.evaluate(() => document.activeElement.id), 'list');
    await context.close();
  });

  it('pings a socket without TTL and gives it up when no pong comes',
     async () => {
       const host = 'h-ping';
       const context = await browser.newContext();
       await recordStatus(context);
       const page = await context.newPage();
       const { sockets, fromPage } = await silenceSockets(page);
       await page.goto(server.base + '/?token=' + token(host, 'host'));
       await until('live', async () => (await statusOf(page)) === 'live');
       await book(server.base, host, 'r-1');
       await page.getByTestId('toast').filter({ hasText: 'New booking: r-1' })
         .waitFor({ timeout: 35000 });
       assert.ok(fromPage.some((f) => JSON.parse(f).op === 'ping'),
                 'sent: ' + fromPage.join(' '));
       assert.ok((await statusLog(page)).includes('polling'));
       assert.ok(sockets.length >= 2);
       await context.close();
     });
});

describe('host page back after a while', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer(['--ws-ttl-ms', '1500', '--rate-limit', '0']);
    browser = await launch();
  });

  afterEach(() => noPageErrors(browser));

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A page of `host` whose socket has closed (TTL), now polling. */
  async function pollingPage(context, host) {
    await book(server.base, host, 'r-1');
    const page = await openAs(context, server.base, host);
    await until('polling', async () => (await statusOf(page)) === 'polling',
                12000);
    return page;
  }

  it('starts the list again from the newest when far behind', async () => {
    const host = 'h-behind';
    const context = await browser.newContext();
    const page = await pollingPage(context, host);
    // Offline while 650 come: back online, its catch-up would need more
    // than the 5 pages of 100 it reads.
    await context.setOffline(true);
    const service = token('svc', 'service');
    for (let b = 0; b < 13; b++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) =>
        rest(server.base, 'POST', '/notifications', service,
             { hostId: host, type: 'system', title: 'Late ' + (b * 50 + i),
               body: 'b' })));
    }
    await context.setOffline(false);
    await until('badge 651', async () => (await badgeOf(page)) === '651',
                20000);
    await page.getByTestId('bell').click();
    await until('the newest on top', async () =>
      (await items(page).first().getAttribute('data-id')) === '651', 15000);
    assert.ok(await page.getByTestId('load-more').isVisible());
    await context.close();
  });

  it('does not toast what another device read meanwhile', async () => {
    const host = 'h-read-elsewhere';
    const context = await browser.newContext();
    const page = await pollingPage(context, host);
    await context.setOffline(true);
    const read = await book(server.base, host, 'r-2');
    const r = await rest(server.base, 'POST', '/notifications/mark-read',
                         token(host, 'host'),
                         { ids: [read.notification.id] });
    assert.equal(r.status, 200);
    await book(server.base, host, 'r-3');
    await context.setOffline(false);
    // Both come in the reconnect's replay: only the unread one is toasted.
    await page.getByTestId('toast').filter({ hasText: 'New booking: r-3' })
      .waitFor({ timeout: 15000 });
    assert.equal(await page.getByTestId('toast')
      .filter({ hasText: 'New booking: r-2' }).count(), 0);
    await page.getByTestId('bell').click();
    const item = items(page).filter({ hasText: 'New booking: r-2' });
    await until('r-2 listed as read', async () =>
      (await item.getAttribute('data-read')) === 'true');
    await context.close();
  });

  it('a mark-read while polling does not lose what came since the last poll',
     async () => {
       const host = 'h-mark-polling';
       const context = await browser.newContext();
       const page = await context.newPage();
       const counts = countRequests(page, '/notifications/count');
       await book(server.base, host, 'r-1');
       await page.goto(server.base + '/?token=' + token(host, 'host'));
       await page.getByTestId('bell').click();
       const toastOf = (room) => page.getByTestId('toast')
         .filter({ hasText: 'New booking: ' + room });
       const item = (room) => items(page)
         .filter({ hasText: 'New booking: ' + room });

       // Polling, just after a poll: a booking comes, then the host marks
       // one read (the page reads the count) before the next poll.
       const afterPoll = async () => {
         await until('polling', async () => (await statusOf(page))
                     === 'polling', 12000);
         const seen = counts.n;
         await until('a poll', () => counts.n > seen, 8000);
       };
       await afterPoll();
       await book(server.base, host, 'r-2');
       await item('r-1').getByTestId('mark-read').click();
       await toastOf('r-2').waitFor({ timeout: 12000 });
       assert.equal(await item('r-2').getAttribute('data-read'), 'false');
       await until('badge 1', async () => (await badgeOf(page)) === '1');

       // The same with mark-all-read, which marks only what was shown.
       await afterPoll();
       await book(server.base, host, 'r-3');
       await page.getByTestId('mark-all-read').click();
       await toastOf('r-3').waitFor({ timeout: 12000 });
       assert.equal(await item('r-3').getAttribute('data-read'), 'false');
       assert.equal(await item('r-2').getAttribute('data-read'), 'true');
       await until('badge 1 again', async () => (await badgeOf(page)) === '1');
       assert.equal(await unread(server.base, host), 1);
       await context.close();
     });

  it('gives up on a socket silent past its TTL, then polls and catches up',
     async () => {
       const host = 'h-silent';
       const first = await book(server.base, host, 'r-1');
       const context = await browser.newContext();
       await recordStatus(context);
       const page = await context.newPage();
       const { sockets } = await silenceSockets(page);
       await page.goto(server.base + '/?token=' + token(host, 'host'));
       await until('live', async () => (await statusOf(page)) === 'live');
       // Pushed into the dead connection: never shown by it.
       await book(server.base, host, 'r-2');
       await page.getByTestId('toast').filter({ hasText: 'New booking: r-2' })
         .waitFor({ timeout: 25000 });
       assert.ok((await statusLog(page)).includes('polling'));
       assert.ok(sockets.length >= 2);
       assert.match(sockets[1], new RegExp('[?&]after='
                                           + first.notification.id + '(&|$)'));
       await until('badge 2', async () => (await badgeOf(page)) === '2');
       await context.close();
     });

  it('lists by REST what a socket that never says hello was to bring',
     async () => {
       // A proxy that holds the upgrade: the socket opens and stays silent.
       const host = 'h-no-hello';
       await book(server.base, host, 'r-1');
       const context = await browser.newContext();
       const page = await context.newPage();
       await page.routeWebSocket((url) => url.pathname === '/ws', () => {});
       await page.goto(server.base + '/?token=' + token(host, 'host'));
       await until('badge 1', async () => (await badgeOf(page)) === '1');
       await book(server.base, host, 'r-2');
       await book(server.base, host, 'r-3');
       // Toasted as the socket's replay would have: the ones it lacked.
       const toastOf = (room) => page.getByTestId('toast')
         .filter({ hasText: 'New booking: ' + room });
       await toastOf('r-3').waitFor({ timeout: 25000 });
       await toastOf('r-2').waitFor({ timeout: 1000 });
       assert.equal(await toastOf('r-1').count(), 0);
       await page.getByTestId('bell').click();
       await until('3 listed', async () => (await items(page).count()) === 3);
       await context.close();
     });

  it('toasts a notification that a REST read listed before its frame came',
     async () => {
       const own = await startServer(['--ws-ttl-ms', '0']);
       try {
         const host = 'h-rest-first';
         await book(own.base, host, 'r-0');
         const context = await browser.newContext();
         const page = await context.newPage();
         // The socket's frames reach the page 3 s late; REST answers do not.
         await page.routeWebSocket((url) => url.pathname === '/ws', (ws) => {
           const server = ws.connectToServer();
           server.onMessage((m) => setTimeout(() => ws.send(m), 3000));
         });
         await page.goto(own.base + '/?token=' + token(host, 'host'));
         await page.getByTestId('bell').click();
         const item = (room) => items(page)
           .filter({ hasText: 'New booking: ' + room });
         await item('r-0').waitFor();
         await new Promise((r) => setTimeout(r, 3500));  // hello has come
         await book(own.base, host, 'r-1');
         // The mark-read reads the count, which names r-1: the page lists
         // it by REST, before its frame comes.
         await item('r-0').getByTestId('mark-read').click();
         await item('r-1').waitFor({ timeout: 2500 });
         const toasts = page.getByTestId('toast')
           .filter({ hasText: 'New booking: r-1' });
         await toasts.waitFor({ timeout: 5000 });
         await new Promise((r) => setTimeout(r, 500));
         assert.equal(await toasts.count(), 1);
         await context.close();
       } finally {
         await own.stop();
       }
     });

  it('removes the toasts at logout', async () => {
    // They may name the last host's bookings.
    const context = await browser.newContext();
    const page = await openAs(context, server.base, 'h-logout-1');
    await book(server.base, 'h-logout-1', 'r-1');
    const toasts = page.getByTestId('toast');
    await toasts.filter({ hasText: 'New booking: r-1' })
      .waitFor({ timeout: 15000 });
    await page.locator('#logout').click();
    assert.equal(await toasts.count(), 0);
    await page.getByTestId('token-input').fill(token('h-logout-2', 'host'));
    await page.getByTestId('login-button').click();
    await until('the other host logged in', async () =>
      !(await page.getByTestId('bell').isDisabled()));
    assert.equal(await toasts.count(), 0);
    await context.close();
  });

  it('gives up on a poll that hangs, and polls again', async () => {
    const host = 'h-hung-poll';
    const context = await browser.newContext();
    await recordStatus(context);
    const page = await pollingPage(context, host);
    let hung = null;
    await context.route('**/notifications/count', (route) => {
      if (hung) return route.continue();
      hung = route;  // never answered
      return undefined;
    });
    await until('a poll that hangs', () => hung, 8000);
    const marker = await page.evaluate(() => window.statusLog.length);
    await book(server.base, host, 'r-2');
    await page.getByTestId('toast').filter({ hasText: 'New booking: r-2' })
      .waitFor({ timeout: 25000 });
    // The hung poll failed (offline) before the next one found r-2.
    assert.ok((await statusLog(page, marker)).includes('offline'));
    await context.close();
  });
});

describe('demo mode', () => {
  let server;
  let browser;

  before(async () => {
    // No --jwt-secret: demo mode makes one up.
    server = await startServer(['--demo'], { secret: null });
    browser = await launch();
  });

  afterEach(() => noPageErrors(browser));

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('prints host links; a booking on /demo reaches the host page',
     async () => {
       const links = server.lines.filter((l) => l.event === 'demo' && l.host);
       assert.deepEqual(links.map((l) => l.host),
                        ['h-demo-1', 'h-demo-2', 'h-demo-3']);
       const page = server.lines.find((l) => l.event === 'demo' && l.page);
       assert.equal(page.url, server.base + '/demo');

       const hostContext = await browser.newContext({
         viewport: { width: 1100, height: 680 } });
       const hostPage = await hostContext.newPage();
       await hostPage.goto(links[0].url);
       await until('logged in as h-demo-1', async () =>
         (await hostPage.locator('#who').textContent()) === 'h-demo-1');
       assert.equal(new URL(hostPage.url()).search, '');

       const guestContext = await browser.newContext();
       const guest = await guestContext.newPage();
       await guest.goto(page.url);
       await until('the book button', async () =>
         !(await guest.getByTestId('demo-book').isDisabled()));
       await guest.getByTestId('demo-host').selectOption('h-demo-1');
       await guest.getByTestId('demo-room').selectOption('r-201');
       await guest.getByTestId('demo-book').click();
       await until('booked', async () =>
         /Booked r-201/.test(await guest.getByTestId('demo-result')
           .textContent()));

       await hostPage.getByTestId('toast')
         .filter({ hasText: 'New booking: r-201' })
         .waitFor({ timeout: 12000 });
       await until('badge 1', async () => (await badgeOf(hostPage)) === '1');

       // The picture in README.md: a few bookings, the list open, the toast
       // of the newest one.
       if (process.env.BELLHOP_SCREENSHOT) {
         const bookRoom = async (room, note) => {
           await guest.getByTestId('demo-room').selectOption(room);
           await guest.getByTestId('demo-note').fill(note);
           await guest.getByTestId('demo-book').click();
           await until('booked ' + room, async () => new RegExp('Booked '
             + room).test(await guest.getByTestId('demo-result')
               .textContent()));
         };
         await bookRoom('r-101', '');
         await bookRoom('r-301', 'travelling with a toddler');
         await until('badge 3', async () => (await badgeOf(hostPage)) === '3',
                     12000);
         await until('no toast', async () =>
           (await hostPage.getByTestId('toast').count()) === 0, 12000);
         await bookRoom('r-202', 'late arrival');
         await hostPage.getByTestId('toast').waitFor({ timeout: 12000 });
         await hostPage.getByTestId('bell').click();
         await until('4 items',
                     async () => (await items(hostPage).count()) === 4);
         await hostPage.waitForTimeout(400);  // the toast's slide-in
         await hostPage.screenshot({ path: process.env.BELLHOP_SCREENSHOT });
       }
       await guestContext.close();
       await hostContext.close();
     });
});
