// tests/e2e/lib.mjs - the end-to-end harness: playwright-core (from
// web/node_modules) driving Debian's chromium against the running test stack
// (scripts/test.sh starts it and exports its environment).  Tokens come from
// bin/norvalt-token exactly as `make token` mints them.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = process.env.NV_ROOT || join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD_ROOT = process.env.NV_BUILD_ROOT || ROOT;
export const BASE = process.env.NORVALT_BASE_URL || `http://127.0.0.1:${process.env.NORVALT_TEST_PORT || 18080}`;
export const SHOTS = process.env.NV_SCREENSHOT_DIR || join(ROOT, 'var', 'screenshots');
export const CHROMIUM = process.env.NV_CHROMIUM || '/usr/bin/chromium';

const require = createRequire(join(ROOT, 'web', 'package.json'));
export const { chromium } = require('playwright-core');

export const TESLA = '11111111-1111-4111-8111-111111111111';
export const VW = '22222222-2222-4222-8222-222222222222';
export const USERS = {
  user_tesla_manager: { org: 'org_tesla_oslo', dealership: 'Tesla Oslo', id: 'a1000000-0000-4000-8000-000000000001', name: 'Kristin Solberg', role: 'manager' },
  user_tesla_rep: { org: 'org_tesla_oslo', dealership: 'Tesla Oslo', id: 'a1000000-0000-4000-8000-000000000002', name: 'Emil Haugland', role: 'sales_rep' },
  user_vw_admin: { org: 'org_vw_bergen', dealership: 'VW Bergen', id: 'a2000000-0000-4000-8000-000000000001', name: 'Trond Vik', role: 'admin' },
  user_vw_rep: { org: 'org_vw_bergen', dealership: 'VW Bergen', id: 'a2000000-0000-4000-8000-000000000002', name: 'Marius Aas', role: 'sales_rep' },
};

const tokens = {};
export function token(user) {
  if (!tokens[user]) {
    const out = execFileSync(join(BUILD_ROOT, 'bin', 'norvalt-token'),
      ['--user', user, '--org', USERS[user].org, '--ttl', '3600', '--key', join(ROOT, 'var', 'keys', 'dev_jwt_private.pem')],
      { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    tokens[user] = out.trim().split('\n').pop();
  }
  return tokens[user];
}

// The API as a user (or anonymously with user null): {status, json}.
export async function api(user, method, path, body, headers = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (user) h.Authorization = `Bearer ${token(user)}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, json, text };
}

let seq = 0;
const secrets = new Map();
// A lead posted to a dealership's form webhook, as a website would.
export async function formLead(dealership, extra = {}) {
  seq += 1;
  const tag = `${Date.now().toString(36)}${seq}`;
  const body = {
    first_name: 'E2e', last_name: `Kunde${tag}`, email: `e2e.${tag}@example.com`,
    message: 'Hei! Er Model Y fortsatt tilgjengelig?', vehicle: 'Tesla Model Y', ...extra,
  };
  // A dealership with a webhook secret wants the body signed (SPEC 6).
  const raw = JSON.stringify(body);
  const headers = { 'Content-Type': 'application/json' };
  const admin = dealership === VW ? 'user_vw_admin' : 'user_tesla_manager';
  if (!secrets.has(dealership)) secrets.set(dealership, (await api(admin, 'GET', '/api/dealership')).json.settings.webhook_secret || null);
  const secret = secrets.get(dealership);
  if (secret) headers['X-Norvalt-Signature'] = `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  const res = await fetch(`${BASE}/webhooks/form/${dealership}`, { method: 'POST', headers, body: raw });
  const r = { status: res.status, text: await res.text() };
  r.json = r.status === 201 ? JSON.parse(r.text) : null;
  if (r.status !== 201) throw new Error(`form webhook: ${r.status} ${r.text}`);
  return { id: r.json.lead_id, name: `${body.first_name} ${body.last_name}`, body };
}

// Whether the test stack runs the worker daemon (answers leads).
export function hasWorker() {
  try {
    const out = execFileSync(join(ROOT, 'scripts', 'stack.sh'), ['status'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, NV_PROFILE: 'test' }, stdio: ['ignore', 'pipe', 'ignore'] });
    return /^worker\s+running/m.test(out);
  } catch { return false; }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function eq(a, b, msg) {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${msg}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}

export async function launch() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless=new', '--disable-background-networking', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// A fresh browser context (own storage) with a page signed in as user by
// pasting a token on the sign-in page, as a person would.
export async function signedIn(browser, user, { width = 1280, height = 900, path = '/' } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, timezoneId: 'Europe/Oslo', locale: 'nb-NO' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) errors.push(m.text()); });
  page.nvErrors = errors;
  await page.goto(`${BASE}/signin?next=${encodeURIComponent(path)}`);
  await page.fill('#token', token(user));
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=who]');
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
}
