#!/usr/bin/env node
// tests/e2e/run.mjs - the dashboard's end-to-end tests in headless Chromium
// against the test stack (scripts/test.sh runs this after the integration
// tests, while the stack is up).  Each test prints "ok - name" or
// "not ok - name: why"; the last line is "N passed, N failed", which
// scripts/test.sh adds to its totals.  Exit status 1 when anything failed.
//
//   NV_E2E_FILTER=regex   run only the tests whose name matches
import { readFile } from 'node:fs/promises';
import { api, assert, BASE, eq, formLead, hasWorker, launch, shot, signedIn, TESLA, USERS, VW } from './lib.mjs';

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const skips = [];

// The ids of the lead rows on the page.
const rowIds = (page) => page.$$eval('[data-lead-id]', (els) => els.map((e) => e.getAttribute('data-lead-id')));

// Wait until the inbox finished loading (rows or the empty text).
async function inboxLoaded(page) {
  await page.waitForSelector('[data-testid=leads], [data-testid=empty]');
}

// The first page the inbox asks for (limit 25) with these API filters.
async function apiIds(user, query = '') {
  const r = await api(user, 'GET', `/api/leads?limit=25${query ? `&${query}` : ''}`);
  eq(r.status, 200, `GET /api/leads?${query}`);
  return r.json.data.map((l) => l.id);
}

async function waitFor(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('sign in with a pasted token as each demo user; the inbox shows that dealership only', async (b) => {
  for (const [user, u] of Object.entries(USERS)) {
    const page = await signedIn(b, user);
    const who = await page.textContent('[data-testid=who]');
    assert(who.includes(u.dealership) && who.includes(u.name), `${user}: header says "${who}"`);
    await inboxLoaded(page);
    const ids = await rowIds(page);
    assert(ids.length > 0, `${user}: the inbox is empty`);
    eq(ids, await apiIds(user), `${user}: inbox rows vs GET /api/leads`);
    const other = user.startsWith('user_tesla') ? 'user_vw_admin' : 'user_tesla_manager';
    const theirs = new Set(await apiIds(other));
    assert(!ids.some((id) => theirs.has(id)), `${user} sees a lead of the other dealership`);
    // A seeded name of each dealership: found at home, not found next door.
    const mine = u.dealership === 'Tesla Oslo' ? 'Nordmann' : 'Karlsen';
    const next = u.dealership === 'Tesla Oslo' ? 'Karlsen' : 'Nordmann';
    await page.fill('input[name=q]', mine);
    await page.press('input[name=q]', 'Enter');
    // The search has run (URL and every row), so the box is not reset
    // under the next search by the page catching up with this one.
    await page.waitForFunction((n) => {
      const rows = [...document.querySelectorAll('[data-lead-id]')];
      return location.search.includes(`q=${n}`) && rows.length > 0 && rows.every((e) => e.textContent.includes(n));
    }, mine);
    await page.fill('input[name=q]', next);
    await page.press('input[name=q]', 'Enter');
    await page.waitForSelector('[data-testid=empty]');
    if (user === 'user_tesla_manager') {
      await page.goto(`${BASE}/`);
      await inboxLoaded(page);
      await shot(page, 'inbox');
    }
    assert(page.nvErrors.length === 0, `${user}: page errors: ${page.nvErrors.join('; ')}`);
    await page.context().close();
  }
});

test('filters change the list (status, source, assignee, search, date range)', async (b) => {
  const user = 'user_tesla_manager';
  const page = await signedIn(b, user);
  await inboxLoaded(page);
  const all = await rowIds(page);
  const cases = [
    [() => page.selectOption('select[name=status]', 'won'), 'status=won'],
    [() => page.selectOption('select[name=source]', 'sms'), 'status=won&source=sms'],
    [async () => { await page.click('text=Nullstill'); await page.selectOption('select[name=assigned_to]', 'none'); }, 'assigned_to=none'],
    [() => page.selectOption('select[name=assigned_to]', 'me'), `assigned_to=${USERS[user].id}`],
    [async () => { await page.click('text=Nullstill'); await page.fill('input[name=q]', 'Olsen'); await page.press('input[name=q]', 'Enter'); }, 'q=Olsen'],
    [async () => {
      await page.click('text=Nullstill');
      await page.fill('input[name=from]', '2026-10-31');
      await page.fill('input[name=to]', '2026-10-31');
    }, `created_after=${encodeURIComponent('2026-10-30T23:00:00.000Z')}&created_before=${encodeURIComponent('2026-10-31T23:00:00.000Z')}`],
  ];
  for (const [act, query] of cases) {
    await act();
    const want = await apiIds(user, query);
    await waitFor(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(want), 8000, `rows for ${query}`);
    assert(JSON.stringify(want) !== JSON.stringify(all), `filter ${query} did not change the list`);
  }
  // The last one: 31 October in Oslo holds Ola Nordmann and Ingrid Olsen.
  const text = await page.textContent('[data-testid=leads]');
  assert(text.includes('Ola Nordmann') && text.includes('Ingrid Olsen'), `31 October: ${text.slice(0, 200)}`);
  // Keyset paging: "load more" appends the next page.
  await page.click('text=Nullstill');
  await waitFor(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(all), 8000, 'unfiltered rows');
  const p1 = await api(user, 'GET', '/api/leads?limit=25');
  if (p1.json.next_cursor) {
    await page.click('text=Last flere');
    const p2 = await api(user, 'GET', `/api/leads?limit=25&cursor=${encodeURIComponent(p1.json.next_cursor)}`);
    const want = [...p1.json.data, ...p2.json.data].map((l) => l.id);
    await waitFor(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(want), 8000, 'rows after load more');
  }
  await page.context().close();
});

test('a lead posted to the form webhook appears without a reload, already answered', async (b) => {
  const page = await signedIn(b, 'user_tesla_manager');
  await inboxLoaded(page);
  await page.evaluate(() => { window.nvNoReload = true; });
  const lead = await formLead(TESLA);
  const row = `[data-lead-id="${lead.id}"]`;
  await page.waitForSelector(row, { timeout: 12000 });
  assert(await page.evaluate(() => window.nvNoReload === true), 'the page reloaded');
  const first = await page.$eval('[data-lead-id]', (e) => e.getAttribute('data-lead-id'));
  eq(first, lead.id, 'the new lead is on top');
  const rowText = await page.textContent(row);
  assert(rowText.includes(lead.name), `row: ${rowText}`);
  // make test runs the browser tests with a worker (scripts/test.sh).
  assert(hasWorker(), 'no worker daemon runs on the test stack');
  await page.waitForFunction((sel) => document.querySelector(`${sel} [data-testid=stl]`)?.textContent.startsWith('svart på'), row, { timeout: 30000 });
  const r = await api('user_tesla_manager', 'GET', `/api/leads/${lead.id}`);
  assert(r.json.first_response_at, 'the API has no first_response_at');
  await page.context().close();
});

test('a lead entered by staff shows its message above the auto-reply', async (b) => {
  const said = `Ringte om Model Y, vil prøvekjøre lørdag ${Date.now()}`;
  const c = await api('user_tesla_manager', 'POST', '/api/leads', { first_name: 'Telefon', email: `tlf.${Date.now()}@example.no`, source: 'phone', message: said });
  eq(c.status, 201, 'POST /api/leads');
  // New leads entered through the API are answered too (SPEC 7).
  await waitFor(async () => (await api('user_tesla_manager', 'GET', `/api/leads/${c.json.id}`)).json.first_response_at, 30000, 'lead answered');
  const page = await signedIn(b, 'user_tesla_manager', { path: `/leads/${c.json.id}` });
  await page.waitForSelector('[data-sender=ai]');
  const shown = await page.$eval('[data-testid=lead-message]', (e) => e.textContent);
  eq(shown, said, 'the message the rep typed');
  await page.context().close();
});

test('replying from the lead page stores a human message and pauses AI', async (b) => {
  const lead = await formLead(TESLA);
  const page = await signedIn(b, 'user_tesla_rep', { path: `/leads/${lead.id}` });
  await page.waitForSelector('#lead-h');
  const text = `Hei! Vi har Model Y på lager, vil du prøvekjøre? ${Date.now()}`;
  await page.fill('textarea[name=body]', text);
  await page.click('form.reply button[type=submit]');
  await page.waitForFunction((t) => [...document.querySelectorAll('[data-sender=human]')].some((e) => e.textContent.includes(t)), text);
  const m = await api('user_tesla_rep', 'GET', `/api/leads/${lead.id}/messages`);
  const mine = m.json.data.find((x) => x.body === text);
  assert(mine, 'the API has no such message');
  eq([mine.sender, mine.direction, mine.user_id], ['human', 'outbound', USERS.user_tesla_rep.id], 'stored message');
  const l = await api('user_tesla_rep', 'GET', `/api/leads/${lead.id}`);
  eq(l.json.ai_paused, true, 'ai_paused after a human reply');
  await page.waitForFunction(() => document.querySelector('[data-testid=ai-state]')?.textContent.includes('pause'));
  await shot(page, 'lead');
  await page.context().close();
});

test('status and assignment changes persist (reload, API)', async (b) => {
  const lead = await formLead(TESLA);
  // Let the worker answer and assign it first, so its changes do not race ours.
  await waitFor(async () => (await api('user_tesla_manager', 'GET', `/api/leads/${lead.id}`)).json.first_response_at, 30000, 'lead answered');
  const page = await signedIn(b, 'user_tesla_manager', { path: `/leads/${lead.id}` });
  await page.waitForSelector('#lead-status');
  await page.selectOption('#lead-status', 'qualified');
  await page.waitForSelector('text=Lagret');
  await page.waitForFunction(() => [...document.querySelectorAll('#lead-assignee option')].length > 2);
  await page.selectOption('#lead-assignee', USERS.user_tesla_rep.id);
  await waitFor(async () => (await api('user_tesla_manager', 'GET', `/api/leads/${lead.id}`)).json.assigned_to === USERS.user_tesla_rep.id, 5000, 'assignee saved');
  await page.reload();
  await page.waitForSelector('#lead-status');
  eq(await page.$eval('#lead-status', (e) => e.value), 'qualified', 'status after reload');
  await page.waitForFunction((id) => document.querySelector('#lead-assignee')?.value === id, USERS.user_tesla_rep.id);
  const r = await api('user_tesla_manager', 'GET', `/api/leads/${lead.id}`);
  eq([r.json.status, r.json.assigned_to], ['qualified', USERS.user_tesla_rep.id], 'API after the changes');
  await page.context().close();

  // A sales rep takes an unassigned lead: "assign to me".
  const lead2 = await formLead(TESLA);
  // The worker answers and (round robin) assigns it first; then a manager
  // takes the assignment away again.
  await waitFor(async () => (await api('user_tesla_manager', 'GET', `/api/leads/${lead2.id}`)).json.first_response_at, 30000, 'lead answered');
  await api('user_tesla_manager', 'PATCH', `/api/leads/${lead2.id}`, { assigned_to: null });
  const rep = await signedIn(b, 'user_tesla_rep', { path: `/leads/${lead2.id}` });
  await rep.click('text=Tildel meg');
  await rep.waitForSelector('text=Lagret');
  await rep.reload();
  await rep.waitForSelector('#lead-status');
  assert(!(await rep.$('text=Tildel meg')), 'still offers "assign to me" after reload');
  const r2 = await api('user_tesla_rep', 'GET', `/api/leads/${lead2.id}`);
  eq(r2.json.assigned_to, USERS.user_tesla_rep.id, 'API assignee after "assign to me"');
  await rep.context().close();
});

test('a sales rep sees no erase button; a manager does, exports, and erasing asks first', async (b) => {
  const lead = await formLead(VW);
  const rep = await signedIn(b, 'user_vw_rep', { path: `/leads/${lead.id}` });
  await rep.waitForSelector('#lead-status');
  assert(!(await rep.$('[data-testid=erase]')), 'the sales rep has an erase button');
  assert(!(await rep.$('text=Eksporter data (GDPR)')), 'the sales rep has an export button');
  await rep.context().close();
  const admin = await signedIn(b, 'user_vw_admin', { path: `/leads/${lead.id}` });
  await admin.waitForSelector('[data-testid=erase]');
  // GDPR access: the export downloads as JSON naming the person.
  const [dl] = await Promise.all([admin.waitForEvent('download'), admin.click('text=Eksporter data (GDPR)')]);
  eq(dl.suggestedFilename(), `lead-${lead.id}.json`, 'export file name');
  const exported = await readFile(await dl.path(), 'utf8');
  assert(exported.includes(lead.id) && exported.includes(lead.body.email), `export: ${exported.slice(0, 120)}`);
  await admin.click('[data-testid=erase]');
  await admin.click('dialog button[type=submit]');	// cancel
  eq((await api('user_vw_admin', 'GET', `/api/leads/${lead.id}`)).status, 200, 'the lead after cancel');
  await admin.click('[data-testid=erase]');
  await admin.click('[data-testid=erase-confirm]');
  await admin.waitForSelector('text=Leadet er slettet.');
  eq((await api('user_vw_admin', 'GET', `/api/leads/${lead.id}`)).status, 404, 'the lead after erase');
  await admin.context().close();
});

test('the metrics page draws non-empty charts with their numbers', async (b) => {
  const page = await signedIn(b, 'user_tesla_manager', { path: '/metrics' });
  await page.waitForSelector('[data-testid=trend] canvas');
  await page.waitForSelector('svg.bars rect');
  const painted = await page.$eval('[data-testid=trend] canvas', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] !== 0 && (d[i] < 100 || d[i + 1] < 100)) n++;
    return n;
  });
  assert(painted > 200, `the trend canvas is blank (${painted} dark pixels)`);
  const bars = await page.$$eval('svg.bars rect', (rs) => rs.filter((r) => Number(r.getAttribute('width')) > 1).length);
  assert(bars >= 3, `only ${bars} non-empty bars`);
  const s = await api('user_tesla_manager', 'GET', '/api/stats?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z');
  assert(s.json.by_day.length > 0, 'stats has no by_day');
  const kpi = await page.textContent('[data-testid=kpis]');
  assert(/\d/.test(kpi), `KPIs: ${kpi}`);
  await shot(page, 'metrics');
  await page.context().close();
});

test('vehicles: add, edit and mark sold (manager); settings show webhook URLs', async (b) => {
  const page = await signedIn(b, 'user_vw_admin', { path: '/vehicles' });
  await page.waitForSelector('[data-testid=vehicles]');
  const vin = `E2E${Date.now()}0000`.slice(0, 17);
  await page.click('text=Legg til bil');
  await page.fill('input[name=make]', 'Volkswagen');
  await page.fill('input[name=model]', 'ID.7');
  await page.fill('input[name=year]', '2026');
  await page.fill('input[name=vin]', vin);
  await page.fill('input[name=price]', '529900');
  await page.click('form button[type=submit]');
  await page.waitForSelector(`text=${vin}`);
  const row = page.locator('tr', { hasText: vin });
  await row.locator('text=Rediger').click();
  await page.fill('form[aria-label^="Rediger"] input[name=price]', '519900');
  await page.click('form[aria-label^="Rediger"] button[type=submit]');
  await page.waitForFunction((v) => [...document.querySelectorAll('tr')].some((tr) => tr.textContent.includes(v) && tr.textContent.includes('519')), vin);
  await row.locator('text=Marker som solgt').click();
  await page.waitForFunction((v) => [...document.querySelectorAll('tr')].some((tr) => tr.textContent.includes(v) && tr.textContent.includes('Solgt')), vin);
  const list = await api('user_vw_admin', 'GET', '/api/vehicles');
  const v = list.json.data.find((x) => x.vin === vin);
  eq([v.stock_status, v.price_ore, v.year], ['sold', 51990000, 2026], 'the vehicle in the API');
  await shot(page, 'vehicles');
  await page.goto(`${BASE}/settings`);
  await page.waitForFunction((u) => document.querySelector('main')?.textContent.includes(u), `/webhooks/form/${VW}`);
  const copies = await page.$$('button[aria-label^="Kopier"]');
  assert(copies.length >= 6, `${copies.length} copy buttons`);
  const d = await api('user_vw_admin', 'GET', '/api/dealership');
  assert(d.json.settings.webhook_secret && (await page.textContent('main')).includes(d.json.settings.webhook_secret), 'the webhook secret is not shown');
  await shot(page, 'settings');
  await page.context().close();
});

test('375 px wide: no horizontal scroll on inbox, lead, metrics', async (b) => {
  const lead = await formLead(TESLA, { message: 'En ganske lang melding '.repeat(20) });
  const page = await signedIn(b, 'user_tesla_manager', { width: 375, height: 800 });
  for (const [path, sel, name] of [['/', '[data-testid=leads]', 'inbox-375'], [`/leads/${lead.id}`, '#lead-status', 'lead-375'], ['/metrics', 'svg.bars', 'metrics-375']]) {
    await page.goto(BASE + path);
    await page.waitForSelector(sel);
    await page.waitForTimeout(300);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(w <= 375, `${path}: scrollWidth ${w} > 375`);
    await shot(page, name);
  }
  await page.context().close();
});

test('keyboard navigation, the English switch and readable API errors', async (b) => {
  const page = await signedIn(b, 'user_tesla_rep');
  await inboxLoaded(page);
  await page.selectOption('header select', 'en');
  await page.waitForSelector('h1:has-text("Inbox")');
  await page.waitForSelector('nav a:has-text("Metrics")');
  // Tab from the top of the page to the first lead; it shows a focus ring.
  await page.focus('body');
  let onLead = false;
  for (let i = 0; i < 40 && !onLead; i++) {
    await page.keyboard.press('Tab');
    onLead = await page.evaluate(() => !!document.activeElement?.closest('[data-lead-id]'));
  }
  assert(onLead, 'Tab never reached a lead');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert(ring !== 'none', 'no visible focus on the focused lead');
  const id = await page.evaluate(() => document.activeElement.closest('[data-lead-id]').getAttribute('data-lead-id'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#lead-h');
  eq(new URL(page.url()).pathname, `/leads/${id}`, 'Enter opened the lead');
  // Every form control on the lead page has an accessible name.
  const unnamed = await page.$$eval('input, select, textarea', (els) => els.filter((e) => !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.name || e.outerHTML.slice(0, 60)));
  eq(unnamed, [], 'controls without a label');
  // A 400 from the API is shown as its message and details, not as JSON.
  await page.goto(`${BASE}/?status=bogus`);
  await page.waitForSelector('[role=alert]');
  const msg = await page.textContent('[role=alert]');
  assert(msg.includes('status') && msg.includes('must be one of') && !msg.includes('{'), `error shown as "${msg}"`);
  await page.context().close();
});

test('sign-in page: no demo users on the test stack, API docs linked, 401 returns to sign-in', async (b) => {
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#token');
  assert(page.url().includes('/signin'), `not sent to sign-in: ${page.url()}`);
  assert(!(await page.$('[data-user]')), 'demo users offered although dev login is off');
  assert(await page.$('a[href="/api/docs"]'), 'no link to /api/docs');
  await shot(page, 'signin');
  await page.fill('#token', 'not-a-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('#token');
  await page.waitForSelector('[role=alert]');
  const msg = await page.textContent('[role=alert]');
  assert(!msg.includes('{'), `raw JSON shown: ${msg}`);
  await ctx.close();
});

const filter = process.env.NV_E2E_FILTER ? new RegExp(process.env.NV_E2E_FILTER) : null;
let passed = 0;
let failed = 0;
const t0 = Date.now();
let browser;
try {
  browser = await launch();
} catch (e) {
  console.log(`not ok - launch chromium: ${e.message.split('\n')[0]}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
for (const { name, fn } of tests) {
  if (filter && !filter.test(name)) continue;
  const t1 = Date.now();
  try {
    await Promise.race([fn(browser), new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after 60 s')), 60000))]);
    passed++;
    console.log(`ok - ${name} (${Date.now() - t1} ms)`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${String(e.message || e).split('\n').slice(0, 3).join(' | ')}`);
  }
}
await browser.close();
for (const s of skips) console.log(`# ${s}`);
console.log(`# e2e took ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in var/screenshots/`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
