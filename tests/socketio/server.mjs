// Helpers of socketio.test.mjs: runs the real `bellhop serve`
// ($BELLHOP_BIN) on ephemeral ports, signs HS256 tokens with the test
// secret, and books over REST.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const secret = "sio-it-secret-0123456789abcdef-0123456789";

function b64url(x) {
  return Buffer.from(x).toString("base64url");
}

/** An HS256 JWT for `sub` with `role`, valid for `ttl` seconds. */
export function token(sub, role, ttl = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ sub, role, iat: now, exp: now + ttl }));
  const sig = createHmac("sha256", secret)
    .update(`${head}.${body}`)
    .digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** A name no other test uses. */
let counter = 1;
export function uid(prefix) {
  return `${prefix}-${process.pid}-${counter++}`;
}

/**
 * Starts `bellhop serve` with `extra` flags and waits for its listening
 * line. Resolves to { http, ws, url, stop() }.
 */
export async function startServer(extra = []) {
  const bin = path.resolve(process.env.BELLHOP_BIN || "build/bellhop");
  const dir = mkdtempSync(path.join(tmpdir(), "bellhop-sio-it-"));
  const args = ["serve", "--http-port", "0", "--ws-port", "0",
                "--bind", "127.0.0.1", "--data-dir", dir,
                "--jwt-secret", secret, "--rate-limit", "0",
                "--booking-rate-limit", "0", ...extra];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const ports = await new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stderr: ${stderr}`)), 20000);
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(line);
          if (j.event === "listening") {
            clearTimeout(timer);
            resolve(j);
          }
        } catch {
          // not a JSON line
        }
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bellhop exited with ${code}: ${stderr}`));
    });
  });
  return {
    http: ports.http,
    ws: ports.ws,
    url: `http://127.0.0.1:${ports.ws}`,
    /** SIGTERM; throws when the server had died or does not exit 0. */
    async stop() {
      const died = child.exitCode !== null || child.signalCode !== null;
      if (!died)
        child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
      if (died || child.exitCode !== 0)
        throw new Error(`bellhop ${died ? "died" : "stopped"} with `
                        + `${child.exitCode ?? child.signalCode}: ${stderr}`);
    },
  };
}

/** POST /bookings as a guest; resolves to the 201 body. */
export async function book(server, hostId, roomId) {
  const r = await fetch(`http://127.0.0.1:${server.http}/bookings`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Authorization: `Bearer ${token("g-sio", "guest")}`,
    },
    body: JSON.stringify({ hostId, roomId, checkIn: "2030-01-11",
                           checkOut: "2030-01-13", guests: 2 }),
  });
  const text = await r.text();
  if (r.status !== 201)
    throw new Error(`POST /bookings: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** The host's audit entries, newest first (at most 100). */
export async function audit(server, hostId) {
  const r = await fetch(`http://127.0.0.1:${server.http}/admin/audit`
                        + `?hostId=${hostId}&limit=100`,
                        { headers: { Authorization:
                                       `Bearer ${token("a-1", "admin")}` } });
  return (await r.json()).items;
}

/** One series of /metrics as the page names it; 0 when absent. */
export async function metric(server, series) {
  const r = await fetch(`http://127.0.0.1:${server.http}/metrics`);
  for (const line of (await r.text()).split("\n"))
    if (line.startsWith(series + " "))
      return Number(line.slice(series.length + 1));
  return 0;
}

/** Resolves with the arguments of `event`'s next emission; rejects after ms. */
export function next(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    function on(...args) {
      clearTimeout(timer);
      resolve(args);
    }
    emitter.once(event, on);
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
