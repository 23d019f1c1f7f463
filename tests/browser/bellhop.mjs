// Helpers for the browser tests: start the real `bellhop serve` on free
// ports, mint JWTs, call the REST API, launch Debian's headless Chromium,
// and wait for a condition.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { chromium } from 'playwright-core';

export const SECRET = 'browser-test-secret-0123456789-0123456789';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** An HS256 JWT for `sub` with `role`, valid for `ttl` seconds. */
export function token(sub, role, { secret = SECRET, ttl = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, role, iat: now, exp: now + ttl }));
  const sig = createHmac('sha256', secret).update(head + '.' + body).digest();
  return head + '.' + body + '.' + b64url(sig);
}

/**
 * Starts `bellhop serve` ($BELLHOP_BIN) on port 0 with a fresh data dir and
 * resolves once it printed its listening line. `lines` collects its JSON
 * stdout lines (the demo links among them).
 */
export async function startServer(extra = [], { secret = SECRET } = {}) {
  const bin = process.env.BELLHOP_BIN || 'build/bellhop';
  const dataDir = mkdtempSync(join(tmpdir(), 'bellhop-browser-'));
  const args = ['serve', '--http-port', '0', '--ws-port', '0',
                '--bind', '127.0.0.1', '--data-dir', dataDir,
                '--rate-limit', '0', '--booking-rate-limit', '0'];
  if (secret) args.push('--jwt-secret', secret);
  const proc = spawn(bin, [...args, ...extra],
                     { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let exit = null;
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  proc.on('exit', (code, signal) => { exit = { code, signal }; });
  const lines = [];
  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      'bellhop did not start:\n' + stderr)), 20000);
    proc.on('exit', (code) => reject(new Error(
      'bellhop exited with ' + code + ':\n' + stderr)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        return;
      }
      lines.push(obj);
      if (obj.event === 'listening') {
        clearTimeout(timer);
        resolve(obj);
      }
    });
  });
  const base = 'http://127.0.0.1:' + listening.http;
  return {
    base, lines, listening,
    stderr: () => stderr,
    /** Stops the server; throws if it had exited by itself before. */
    async stop() {
      const early = exit;
      if (!early) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
      if (early) {
        throw new Error('bellhop exited by itself (' + JSON.stringify(early)
                        + '):\n' + stderr);
      }
    },
  };
}

/** A REST call: {status, headers, json}. */
export async function rest(base, method, path, jwt, body) {
  const headers = {};
  if (jwt) headers.Authorization = 'Bearer ' + jwt;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, {
    method, headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, json, text };
}

let nights = 0;

/** Books a room of `host` as guest `guest`; returns the 201 body. */
export async function book(base, host, room, guest = 'g-7') {
  // Every booking gets its own dates, so none overlaps another.
  const day = (n) => new Date(Date.UTC(2031, 0, 1) + n * 86400000)
    .toISOString().slice(0, 10);
  const start = 2 * nights++;
  const r = await rest(base, 'POST', '/bookings', token(guest, 'guest'), {
    hostId: host, roomId: room, checkIn: day(start), checkOut: day(start + 2),
    guests: 2 });
  if (r.status !== 201) throw new Error('booking: ' + r.status + ' ' + r.text);
  return r.json;
}

/** The REST unread count of `host`. */
export async function unread(base, host) {
  const r = await rest(base, 'GET', '/notifications/count',
                       token(host, 'host'));
  return r.json.unread;
}

/**
 * Launches the browser. Every uncaught error of a page it opens (a script
 * that throws, a name no script defines) is kept in `browser.pageErrors`,
 * for `noPageErrors` to check after each test.
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  browser.pageErrors = [];
  const watch = (page) => page.on('pageerror', (e) =>
    browser.pageErrors.push(page.url() + ': ' + e.message));
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.on('page', watch);
    return context;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    watch(page);
    return page;
  };
  return browser;
}

/** Throws if a page of `browser` had an uncaught error since the last call. */
export function noPageErrors(browser) {
  const errors = browser ? browser.pageErrors.splice(0) : [];
  if (errors.length)
    throw new Error('uncaught errors in the page:\n' + errors.join('\n'));
}

/**
 * Waits until `check` returns a truthy value (it may be async); throws with
 * `what` and the last value seen after `timeout` ms.
 */
export async function until(what, check, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline)
      throw new Error('timed out waiting for ' + what + ' (last: '
                      + JSON.stringify(last) + ')');
    await new Promise((r) => setTimeout(r, 50));
  }
}
