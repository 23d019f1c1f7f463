// A page of another origin (a booking platform's) calling the REST API from
// a real headless Chromium: allowed for the origins of --cors-origins
// (docs/decisions.md, "Cross-origin requests"), refused by the browser for
// any other.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { book, launch, startServer, token } from './bellhop.mjs';

/** A server of an empty page on 127.0.0.1: another origin than bellhop's. */
async function pageOrigin() {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>platform</title>');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: 'http://127.0.0.1:' + server.address().port };
}

/** Runs fetch(url, init) in `page`: {status, etag, location, json} or
 *  {error} when the browser refuses the script the answer. */
function fetchIn(page, url, init) {
  return page.evaluate(async ([u, i]) => {
    try {
      const res = await fetch(u, i);
      return { status: res.status, etag: res.headers.get('ETag'),
               location: res.headers.get('Location'),
               json: await res.json() };
    } catch (e) {
      return { error: String(e) };
    }
  }, [url, init]);
}

describe('a page of another origin', () => {
  let allowed;
  let other;
  let server;
  let browser;

  before(async () => {
    allowed = await pageOrigin();
    other = await pageOrigin();
    server = await startServer(['--cors-origins', allowed.origin]);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    allowed?.server.close();
    other?.server.close();
  });

  it('reads the count and its ETag, and books, when its origin is listed',
     async () => {
       await book(server.base, 'h-cors', 'r-1');
       const page = await browser.newPage();
       await page.goto(allowed.origin + '/');
       const count = await fetchIn(page, server.base + '/notifications/count', {
         headers: { Authorization: 'Bearer ' + token('h-cors', 'host') } });
       assert.equal(count.status, 200, JSON.stringify(count));
       assert.equal(count.json.unread, 1);
       assert.match(count.etag, /^"/);
       // Content-Type: application/json and a token: the browser asks
       // first (a preflight), then books.
       const booked = await fetchIn(page, server.base + '/bookings', {
         method: 'POST',
         headers: { Authorization: 'Bearer ' + token('g-cors', 'guest'),
                    'Content-Type': 'application/json',
                    'Idempotency-Key': 'cors-1' },
         body: JSON.stringify({ hostId: 'h-cors', roomId: 'r-2',
                                checkIn: '2031-06-01', checkOut: '2031-06-03',
                                guests: 2 }) });
       assert.equal(booked.status, 201, JSON.stringify(booked));
       assert.equal(booked.location, '/bookings/' + booked.json.booking.id);
       await page.close();
     });

  it('gets no answer when its origin is not listed', async () => {
    const page = await browser.newPage();
    await page.goto(other.origin + '/');
    const count = await fetchIn(page, server.base + '/notifications/count', {
      headers: { Authorization: 'Bearer ' + token('h-cors', 'host') } });
    assert.ok(count.error, JSON.stringify(count));
    await page.close();
  });
});
