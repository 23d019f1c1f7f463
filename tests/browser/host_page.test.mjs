// End-to-end tests of the host page (API.md §8) and the demo (§9 --demo) in
// a real headless Chromium against the real `bellhop serve`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  book, launch, rest, startServer, token, unread, until,
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

describe('host page', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer(['--ws-ttl-ms', '1500']);
    browser = await launch();
  });

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
});

describe('host page under a burst', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer(['--ws-ttl-ms', '0']);
    browser = await launch();
  });

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
});

describe('host page back after a while', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer(['--ws-ttl-ms', '1500', '--rate-limit', '0']);
    browser = await launch();
  });

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
});

describe('demo mode', () => {
  let server;
  let browser;

  before(async () => {
    // No --jwt-secret: demo mode makes one up.
    server = await startServer(['--demo'], { secret: null });
    browser = await launch();
  });

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
