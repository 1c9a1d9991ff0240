// The admin console in a real browser (Debian's Chromium driven by playwright-core), against
// a live Sesame started by scripts/test-console.sh: sign in; import a CSV with a bad row, see
// the report, fix it, preview, apply; find an employee by a differently spaced number;
// revoke one of two sessions and see through /oauth/introspect that only its token went
// inactive; create an API key, re-role it and revoke it; an auditor has no revoke button and a
// forged POST is 403; so is a POST without the CSRF token. With SCREENSHOTS set, each page is saved there as a PNG.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';

const BASE = required('SESAME_URL');
const ADMIN_KEY = required('SESAME_ADMIN_KEY');
const AUDITOR_KEY = required('SESAME_AUDITOR_KEY');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.SCREENSHOTS;
const TEST_NUMBER = '+447700900001';
const TEST_CODE = '424242';
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (scripts/test-console.sh sets it)`);
  return value;
}

async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** Logs the test number in over HTTP, as a phone app would; returns the token pair. */
async function login(userAgent) {
  const start = await fetch(`${BASE}/v1/otp/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ phone_number: TEST_NUMBER }),
  });
  assert.equal(start.status, 202);
  const token = await fetch(`${BASE}/oauth/token`, {
    method: 'POST',
    headers: { 'user-agent': userAgent },
    body: new URLSearchParams({ grant_type: 'otp', phone_number: TEST_NUMBER, code: TEST_CODE }),
  });
  assert.equal(token.status, 200);
  return token.json();
}

async function active(token) {
  const response = await fetch(`${BASE}/oauth/introspect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: new URLSearchParams({ token }),
  });
  assert.equal(response.status, 200);
  return (await response.json()).active;
}

/** Submits a form the console never rendered (as another site, or a forger, would). */
async function forgePost(page, action, fields) {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.evaluate(
      ({ action, fields }) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = action;
        for (const [name, value] of Object.entries(fields)) {
          const input = document.createElement('input');
          input.type = 'hidden';
          input.name = name;
          input.value = value;
          form.append(input);
        }
        document.body.append(form);
        form.submit();
      },
      { action, fields },
    ),
  ]);
  return response;
}

/** Follows a link of the console's navigation. */
async function nav(page, name) {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
}

async function signIn(page, key) {
  await page.goto(`${BASE}/admin`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

describe('the admin console in Chromium', () => {
  let browser;
  let admin;
  const problems = [];
  const sessions = {};

  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // The background-networking flags keep Chromium from calling home.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // No JavaScript at all: the console must work without it.
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, javaScriptEnabled: false });
    admin = await context.newPage();
    // The bad import (422) and the forged POSTs (403) below fail on purpose; anything else
    // (a CSP violation above all) is a fault.
    admin.on('console', (message) => {
      if (!/status of (403|422) /.test(message.text())) problems.push(message.text());
    });
  });

  after(async () => {
    await browser?.close();
  });

  it('signs in with the admin key into an HttpOnly, SameSite=Strict session', async () => {
    const response = await admin.goto(`${BASE}/admin/sign-in`);
    assert.equal(response.headers()['content-security-policy'], CSP);
    await screenshot(admin, 'sign-in');
    await signIn(admin, ADMIN_KEY);
    const cookies = await admin.context().cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, 'Strict');
    assert.equal(cookies[0].path, '/admin');
    assert.ok(!cookies[0].value.includes(ADMIN_KEY));
  });

  it('imports a CSV: the bad row is reported, the fixed file previewed, then applied', async () => {
    await nav(admin, 'Import');
    const bad =
      'external_id,phone_number,name,email\n' +
      'E-1001,+44 7700 900201,Ada Lovelace,ada@example.com\n' +
      'E-1002,+44 7700 9002,Charles Babbage,\n' +
      'E-1003,+447700900203,Grace Hopper,grace@example.com\n';
    await admin.getByLabel('File', { exact: true }).setInputFiles({ name: 'staff.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await admin.getByRole('button', { name: 'Preview' }).click();
    await admin.getByText('1 row(s) are invalid').waitFor();
    const report = admin.getByRole('row').filter({ hasText: 'phone_number is not a valid phone number' });
    assert.equal(await report.getByRole('cell').first().innerText(), '3');
    await screenshot(admin, 'import-report');

    // The report keeps the text: fix the number in place and preview again.
    const text = admin.getByLabel('Or paste its content');
    await text.fill((await text.inputValue()).replace('+44 7700 9002,', '+44 7700 900202,'));
    await admin.getByRole('button', { name: 'Preview' }).click();
    await admin.getByRole('heading', { name: 'Import preview' }).waitFor();
    await admin.getByRole('heading', { name: 'Created (3)' }).waitFor();
    assert.deepEqual(await admin.getByRole('main').getByRole('listitem').allInnerTexts(), ['E-1001', 'E-1002', 'E-1003']);
    await screenshot(admin, 'import-preview');
    await admin.getByRole('button', { name: 'Apply' }).click();
    await admin.getByRole('heading', { name: 'Import applied' }).waitFor();

    await nav(admin, 'Employees');
    await admin.getByRole('link', { name: 'Charles Babbage' }).waitFor();
    await screenshot(admin, 'employees');
    await admin.getByRole('link', { name: 'Charles Babbage' }).click();
    await admin.getByLabel('Phone number').waitFor();
    assert.equal(await admin.getByLabel('Phone number').inputValue(), '+447700900202');
    await screenshot(admin, 'employee');
  });

  it('finds an employee by a differently spaced number', async () => {
    await nav(admin, 'People');
    await admin.getByLabel('Name, external id or phone number').fill('+44-7700 900 203');
    await admin.getByRole('button', { name: 'Search' }).click();
    await admin.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    await screenshot(admin, 'people-search');
  });

  it('revokes one of two sessions: only its tokens go inactive', async () => {
    sessions.phone = await login('Sesame/1.0 (iPhone; iOS 18.1)');
    sessions.laptop = await login('Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0');
    await admin.getByLabel('Name, external id or phone number').fill('+44 (7700) 900-001');
    await admin.getByRole('button', { name: 'Search' }).click();
    await admin.getByRole('link', { name: TEST_NUMBER }).click();
    await admin.getByRole('heading', { name: `Phone ${TEST_NUMBER}` }).waitFor();
    sessions.url = admin.url();
    assert.equal(await admin.getByText('live', { exact: true }).count(), 2);
    await screenshot(admin, 'identity');

    // Newest first: the laptop's session.
    const row = admin.getByRole('row').filter({ hasText: 'Firefox' });
    await row.getByRole('link', { name: /^Revoke the session/ }).click();
    await admin.getByText('its access and refresh tokens stop working at once').waitFor();
    assert.ok((await admin.locator('p.warning').innerText()).includes('on Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0'));
    await screenshot(admin, 'revoke-session');
    await admin.getByRole('button', { name: 'Revoke this session' }).click();
    await admin.getByText('The session was revoked').waitFor();

    assert.equal(await active(sessions.laptop.access_token), false);
    assert.equal(await active(sessions.laptop.refresh_token), false);
    assert.equal(await active(sessions.phone.access_token), true);
  });

  it('shows the revocation in the audit log under the key that made it', async () => {
    await nav(admin, 'Audit log');
    await admin.getByLabel('Action').fill('session.revoked');
    await admin.getByRole('button', { name: 'Filter' }).click();
    await admin.getByRole('cell', { name: 'api-key:bootstrap' }).first().waitFor();
    await admin.goto(`${BASE}/admin/audit`);
    await screenshot(admin, 'audit');
  });

  it("charts the day's logins on the overview", async () => {
    await nav(admin, 'Overview');
    await admin.getByText('Logins: 2').waitFor();
    await screenshot(admin, 'overview');
  });

  it('creates an API key shown once, re-roles it and revokes it', async () => {
    await nav(admin, 'API keys');
    await admin.getByLabel('Name (who or what will use it)').fill('orders-api');
    await admin.getByLabel(/^introspect:/).check();
    await admin.getByRole('button', { name: 'Create key' }).click();
    await admin.getByRole('heading', { name: 'API key created' }).waitFor();
    const key = await admin.getByLabel('The key').inputValue();
    assert.match(key, /^sesame_[A-Za-z0-9_-]{43}$/);
    await screenshot(admin, 'api-key-created');
    const introspectWith = (apiKey) =>
      fetch(`${BASE}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}` },
        body: new URLSearchParams({ token: sessions.phone.access_token }),
      });
    assert.equal((await (await introspectWith(key)).json()).active, true);

    await admin.getByRole('link', { name: 'Done' }).click();
    const row = admin.getByRole('row').filter({ hasText: 'orders-api' });
    assert.equal(await row.getByText(key).count(), 0);
    await row.getByLabel('Role of orders-api', { exact: true }).selectOption('auditor');
    await row.getByRole('button', { name: 'Change the role of orders-api' }).click();
    await admin.getByText("The key's role was changed").waitFor();
    assert.equal((await introspectWith(key)).status, 403);
    await screenshot(admin, 'api-keys');

    await admin.getByRole('row').filter({ hasText: 'orders-api' }).getByRole('link', { name: 'Revoke the key orders-api' }).click();
    await admin.getByText('every request made with it is refused').waitFor();
    await admin.getByRole('button', { name: 'Revoke this key' }).click();
    await admin.getByText('The key was revoked').waitFor();
    assert.equal((await introspectWith(key)).status, 401);
  });

  it('refuses a POST without the CSRF token, and nothing changes', async () => {
    await admin.goto(sessions.url);
    const response = await forgePost(admin, `${sessions.url}/revoke`, {});
    assert.equal(response.status(), 403);
    await admin.getByText('nothing was changed').waitFor();
    assert.equal(await active(sessions.phone.access_token), true);
  });

  it('gives an auditor no revoke button, and forbids a forged POST', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const auditor = await context.newPage();
    await signIn(auditor, AUDITOR_KEY);
    await auditor.goto(sessions.url);
    await auditor.getByText('live', { exact: true }).waitFor();
    assert.equal(await auditor.getByRole('link', { name: /Revoke/ }).count(), 0);
    assert.equal(await auditor.getByRole('button', { name: /Revoke/ }).count(), 0);
    // On a phone the sessions read as cards: nothing to scroll sideways, each value labelled.
    const overflow = await auditor.locator('div.scroll').evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.equal(overflow, 0);
    await screenshot(auditor, 'identity-auditor-phone');
    // Even with this session's own CSRF token, an auditor's POST is refused.
    const csrf = await auditor.locator('input[name=csrf]').first().inputValue();
    const response = await forgePost(auditor, `${sessions.url}/revoke`, { csrf });
    assert.equal(response.status(), 403);
    await auditor.getByText('read-only').waitFor();
    assert.equal(await active(sessions.phone.access_token), true);
    await context.close();
  });

  it('logged no console errors (CSP violations show up there)', () => {
    assert.deepEqual(problems, []);
  });
});
