// Checks web/openapi.json, the OpenAPI document of bellhop's REST API
// (API.md §4), and that it matches the real server:
//
//  1. the document is valid OpenAPI 3 (swagger-parser) and documents exactly
//     the contract's operations, version "1", public operations unsecured;
//  2. the server ($BELLHOP_BIN) serves the same bytes at /openapi.json, as
//     application/json;
//  3. every documented path and method exists on the server: a request with
//     a suitable token and the document's own example body gets the
//     documented success status (never 404 not_found), and its body, content
//     type and required headers match the documented response; a secured
//     operation without a token gets the documented 401;
//  4. undocumented paths and methods get 404 not_found in the error shape.
//
// Run: BELLHOP_BIN=build/app/bellhop node tests/openapi/check.mjs
// Exits 0 when every check passes, 1 with one line per failure otherwise.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';

const here = path.dirname(fileURLToPath(import.meta.url));
const DOC_PATH = path.resolve(here, '../../web/openapi.json');
const SECRET = 's';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// API.md §4: every operation the document must describe, and those that
// need no token (§2).
const CONTRACT = [
  'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json',
  'POST /bookings', 'GET /bookings/{id}', 'POST /notifications',
  'GET /notifications/count', 'GET /notifications/list',
  'POST /notifications/mark-read', 'GET /preferences', 'PUT /preferences',
  'GET /admin/audit',
];
const PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json'];

// The principal each secured operation is tried with (§2's role table):
// [role, sub]. An admin names the host with hostId=.
const HOST = 'h1';
const PRINCIPAL = {
  'POST /bookings': ['guest', 'g-7'],
  'GET /bookings/{id}': ['host', HOST],
  'POST /notifications': ['service', 'svc-1'],
  'GET /notifications/count': ['host', HOST],
  'GET /notifications/list': ['host', HOST],
  'POST /notifications/mark-read': ['host', HOST],
  'GET /preferences': ['host', HOST],
  'PUT /preferences': ['host', HOST],
  'GET /admin/audit': ['admin', 'root'],
};

const failures = [];
function fail(msg) {
  failures.push(msg);
  console.error(`FAIL ${msg}`);
}
function ok(msg) {
  console.log(`ok   ${msg}`);
}

function mintToken(sub, role) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const signing = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, role, iat: now, exp: now + 600 })}`;
  const sig = createHmac('sha256', SECRET).update(signing).digest('base64url');
  return `${signing}.${sig}`;
}

// ---- JSON Schema validation of responses -----------------------------------

// An OpenAPI 3.0 schema object as JSON Schema: `nullable` becomes a null
// type, annotations ajv does not know are dropped.
const OAS_ONLY = new Set(['nullable', 'example', 'xml', 'externalDocs', 'deprecated',
                          'discriminator', 'readOnly', 'writeOnly']);
function toJsonSchema(s) {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (s === null || typeof s !== 'object') return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (OAS_ONLY.has(k)) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v).map(([n, x]) => [n, toJsonSchema(x)]));
    } else if (k === 'enum' || k === 'required' || k === 'default') {
      out[k] = v;
    } else {
      out[k] = toJsonSchema(v);
    }
  }
  if (s.nullable === true) {
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (out.enum) out.enum = [...out.enum, null];
    } else {
      return { anyOf: [out, { type: 'null' }] };
    }
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date', {
  type: 'string',
  validate: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s),
});
ajv.addFormat('date-time', {
  type: 'string',
  validate: (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(s)
                   && !Number.isNaN(Date.parse(s)),
});
ajv.addFormat('int64', { type: 'number', validate: Number.isInteger });
const compiled = new Map();
function validator(schema) {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(toJsonSchema(schema)));
  return compiled.get(schema);
}

// ---- the server ------------------------------------------------------------

async function startServer(bin, dataDir) {
  const child = spawn(bin, ['serve', '--http-port', '0', '--ws-port', '0', '--data-dir', dataDir,
                            '--jwt-secret', SECRET, '--rate-limit', '0'],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no {"event":"listening"} line on stdout within 30 s')), 30000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? sig}) before listening:\n${stderr}`));
    });
    lines.on('line', (line) => {
      let ev;
      try { ev = JSON.parse(line); } catch { return; }
      if (ev && ev.event === 'listening') {
        clearTimeout(timer);
        resolve(ev.http);
      }
    });
  });
  lines.on('line', () => {});  // keep draining stdout
  return { child, port, stderr: () => stderr };
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

let BASE;
async function request(method, url, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(BASE + url, { method, headers: h, body: payload, signal: AbortSignal.timeout(15000) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

const isNotFound = (r) => r.status === 404 && r.json?.error?.code === 'not_found';

// Checks a response against the operation's documented response for its
// status: the status is documented, the content type and body match, and
// the required headers are there.
function checkResponse(what, op, r) {
  const doc = op.responses[String(r.status)];
  if (!doc) {
    fail(`${what}: status ${r.status} is not documented (documented: ${Object.keys(op.responses).join(', ')}); body: ${r.text.slice(0, 300)}`);
    return false;
  }
  let good = true;
  for (const [name, h] of Object.entries(doc.headers ?? {})) {
    if (h.required && !r.headers.has(name)) {
      fail(`${what}: ${r.status} lacks the documented header ${name}`);
      good = false;
    }
  }
  const content = doc.content ?? {};
  const types = Object.keys(content);
  if (types.length === 0) {
    if (r.text !== '') {
      fail(`${what}: ${r.status} is documented without a body but has one: ${r.text.slice(0, 200)}`);
      good = false;
    }
    return good;
  }
  const ct = (r.headers.get('content-type') ?? '').toLowerCase();
  const base = (t) => t.split(';')[0].trim().toLowerCase();
  const type = types.find((t) => base(t) === base(ct));
  if (!type) {
    fail(`${what}: ${r.status} has Content-Type "${ct}", documented: ${types.join(', ')}`);
    return false;
  }
  // Media type parameters the document names (version=0.0.4) must be sent.
  for (const p of type.split(';').slice(1).map((x) => x.trim().toLowerCase()).filter(Boolean)) {
    if (!ct.split(';').map((x) => x.trim()).includes(p)) {
      fail(`${what}: ${r.status} has Content-Type "${ct}" without "${p}"`);
      good = false;
    }
  }
  const schema = content[type].schema;
  if (base(type) === 'application/json') {
    if (r.json === undefined) {
      fail(`${what}: ${r.status} body is not JSON: ${r.text.slice(0, 200)}`);
      return false;
    }
    if (schema) {
      const v = validator(schema);
      if (!v(r.json)) {
        fail(`${what}: ${r.status} body does not match the documented schema: ${ajv.errorsText(v.errors)}; body: ${r.text.slice(0, 300)}`);
        good = false;
      }
    }
  }
  return good;
}

function exampleBody(op) {
  const media = op.requestBody?.content?.['application/json'];
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = Object.values(media.examples ?? {})[0];
  if (first?.value !== undefined) return first.value;
  throw new Error('its request body has no example to send');
}

// ---- the checks ------------------------------------------------------------

async function checkDocument(raw) {
  let doc;
  try {
    doc = JSON.parse(raw);
  } catch (e) {
    fail(`${DOC_PATH} is not JSON: ${e.message}`);
    return null;
  }
  try {
    await SwaggerParser.validate(structuredClone(doc));
    ok('the document is valid OpenAPI (swagger-parser)');
  } catch (e) {
    fail(`the document is not valid OpenAPI: ${e.message}`);
    return null;
  }
  if (doc.openapi !== '3.0.3') fail(`openapi is "${doc.openapi}", expected "3.0.3"`);
  if (doc.info?.version !== '1') fail(`info.version is "${doc.info?.version}", expected "1"`);
  const documented = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const m of METHODS)
      if (item[m]) documented.push(`${m.toUpperCase()} ${p}`);
  for (const op of CONTRACT)
    if (!documented.includes(op)) fail(`the contract's ${op} is not documented`);
  for (const op of documented)
    if (!CONTRACT.includes(op)) fail(`${op} is documented but is not in the contract (API.md §4)`);
  if (!doc.components?.securitySchemes?.bearerAuth) fail('no bearerAuth security scheme');
  for (const op of documented) {
    const [m, p] = op.split(' ');
    const sec = doc.paths[p][m.toLowerCase()].security ?? doc.security ?? [];
    if (PUBLIC.includes(op) !== (sec.length === 0))
      fail(`${op}: ${PUBLIC.includes(op) ? 'must not need' : 'must need'} a token (API.md §2)`);
  }
  ok(`the document has the contract's ${CONTRACT.length} operations`);
  return SwaggerParser.dereference(structuredClone(doc));
}

async function checkServed(raw, api) {
  const r = await request('GET', '/openapi.json');
  if (r.status !== 200) {
    fail(`GET /openapi.json answered ${r.status}: ${r.text.slice(0, 200)} (is web/openapi.json embedded? rebuild)`);
    return;
  }
  const ct = r.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(ct)) fail(`GET /openapi.json has Content-Type "${ct}", expected application/json`);
  if (r.text !== raw) fail('GET /openapi.json differs from web/openapi.json (rebuild the server?)');
  else ok('GET /openapi.json serves web/openapi.json as application/json');
  const op = api.paths['/openapi.json'].get;
  checkResponse('GET /openapi.json', op, r);
  const etag = r.headers.get('etag');
  if (etag) {
    const again = await request('GET', '/openapi.json', { headers: { 'If-None-Match': etag } });
    if (again.status !== 304) fail(`GET /openapi.json with If-None-Match: ${etag} answered ${again.status}, expected 304`);
    else if (checkResponse('GET /openapi.json (If-None-Match)', op, again)) ok('GET /openapi.json with If-None-Match is 304');
  }
}

async function checkOperation(api, key, ctx) {
  const [method, p] = key.split(' ');
  const op = api.paths[p][method.toLowerCase()];
  const secured = (op.security ?? api.security ?? []).length > 0;
  const [role, sub] = PRINCIPAL[key] ?? ['admin', 'root'];
  const params = [...(api.paths[p].parameters ?? []), ...(op.parameters ?? [])];

  let url = p;
  const query = new URLSearchParams();
  for (const prm of params) {
    if (prm.in === 'path') {
      let value;
      if (p === '/bookings/{id}' && prm.name === 'id') value = ctx.bookingId;
      if (value === undefined) throw new Error(`no value for the path parameter ${prm.name}`);
      url = url.replace(`{${prm.name}}`, encodeURIComponent(value));
    } else if (prm.in === 'query') {
      if (prm.name === 'hostId' && secured && role === 'admin') query.set('hostId', HOST);
      else if (prm.required) {
        const v = prm.example ?? prm.schema?.example ?? prm.schema?.default;
        if (v === undefined) throw new Error(`no value for the required query parameter ${prm.name}`);
        query.set(prm.name, String(v));
      }
    }
  }
  if ([...query].length) url += `?${query}`;
  const body = exampleBody(op);
  const token = secured ? mintToken(sub, role) : undefined;

  const r = await request(method, url, { token, body });
  const what = `${key} (${url}${secured ? ` as ${role} ${sub}` : ''})`;
  if (isNotFound(r)) {
    fail(`${what}: 404 not_found — the documented route does not exist on the server: ${r.text.slice(0, 200)}`);
    return r;
  }
  const success = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s)).sort()[0];
  if (String(r.status) !== success) {
    fail(`${what}: answered ${r.status}, expected the documented ${success}; body: ${r.text.slice(0, 300)}`);
    checkResponse(what, op, r);
    return r;
  }
  if (checkResponse(what, op, r)) ok(`${what} → ${r.status}`);

  if (secured) {
    const anon = await request(method, url, { body });
    if (anon.status !== 401 || anon.json?.error?.code !== 'unauthorized')
      fail(`${key} without a token answered ${anon.status}, expected 401 unauthorized: ${anon.text.slice(0, 200)}`);
    else if (checkResponse(`${key} without a token`, op, anon)) ok(`${key} without a token → 401`);
  }
  return r;
}

async function main() {
  const bin = process.env.BELLHOP_BIN;
  if (!bin) {
    console.error('BELLHOP_BIN must name the bellhop binary');
    process.exit(2);
  }
  const raw = readFileSync(DOC_PATH, 'utf8');
  const api = await checkDocument(raw);
  if (!api) return;

  const dataDir = mkdtempSync(path.join(tmpdir(), 'bellhop-openapi-'));
  let server;
  try {
    server = await startServer(bin, dataDir);
    BASE = `http://127.0.0.1:${server.port}`;
    ok(`server listening on ${server.port}`);
    await checkServed(raw, api);

    // POST /bookings first: GET /bookings/{id} needs a real booking.
    const keys = [];
    for (const [p, item] of Object.entries(api.paths))
      for (const m of METHODS)
        if (item[m]) keys.push(`${m.toUpperCase()} ${p}`);
    keys.sort((a, b) => (b === 'POST /bookings') - (a === 'POST /bookings'));
    const ctx = {};
    for (const key of keys) {
      let r;
      try {
        r = await checkOperation(api, key, ctx);
      } catch (e) {
        fail(`${key}: ${e.message}`);
        continue;
      }
      if (key === 'POST /bookings' && r.status === 201) {
        ctx.bookingId = r.json?.booking?.id;
        const loc = r.headers.get('location');
        if (loc !== `/bookings/${ctx.bookingId}`) fail(`POST /bookings: Location is "${loc}", expected "/bookings/${ctx.bookingId}"`);
      }
      if (key === 'GET /notifications/count' && r.status === 200) {
        const etag = r.headers.get('etag');
        const again = await request('GET', '/notifications/count', {
          token: mintToken(HOST, 'host'), headers: { 'If-None-Match': etag },
        });
        if (again.status !== 304) fail(`GET /notifications/count with If-None-Match: ${etag} answered ${again.status}, expected 304`);
        else if (checkResponse('GET /notifications/count (If-None-Match)', api.paths['/notifications/count'].get, again))
          ok('GET /notifications/count with If-None-Match → 304');
      }
    }

    // Paths and methods the document does not name do not exist.
    const host = mintToken(HOST, 'host');
    for (const [method, url] of [['GET', '/no-such-route'], ['GET', '/notifications/unknown'],
                                 ['DELETE', '/preferences'], ['GET', '/bookings'],
                                 ['POST', '/healthz']]) {
      const r = await request(method, url, { token: host });
      if (!isNotFound(r)) {
        fail(`undocumented ${method} ${url} answered ${r.status} ${r.text.slice(0, 200)}, expected 404 not_found`);
      } else {
        const v = validator(api.components.schemas.Error);
        if (!v(r.json)) fail(`undocumented ${method} ${url}: the 404 is not in the error shape: ${r.text}`);
        else ok(`undocumented ${method} ${url} → 404 not_found`);
      }
    }
  } catch (e) {
    fail(`${e.message}${server ? `\nserver stderr:\n${server.stderr()}` : ''}`);
  } finally {
    if (server) await stopServer(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
if (failures.length) {
  console.error(`\n${failures.length} check(s) failed:`);
  for (const f of failures) console.error(`  - ${f}`);
  process.exit(1);
}
console.log('\nall OpenAPI checks passed');
