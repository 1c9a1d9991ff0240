// The /demo page in a real browser (Debian's Chromium driven by playwright-core): a test
// number signs in, the claims show, refresh works, the session survives a reload, logout.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { SESAME_URL, TEST_CODE, testNumber } from '../support/live.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe('/demo in Chromium', () => {
  let browser: Browser;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM)`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // The background-networking flags keep Chromium from calling home, which a machine
      // without Internet access answers by refusing its connections.
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
  });

  after(async () => {
    await browser?.close();
  });

  it('signs in with a phone number and a code, shows the claims, refreshes, logs out', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 720 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    const response = await page.goto(`${SESAME_URL}/demo`);
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['content-security-policy'], CSP);

    const phone = testNumber(20);
    await page.getByLabel('Phone number').fill(phone);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByRole('heading', { name: 'Enter the code' }).waitFor();
    await page.getByLabel('Code').fill(TEST_CODE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();

    const claimsBox = page.getByLabel('Access token claims');
    const claims = JSON.parse(await claimsBox.innerText()) as Record<string, unknown>;
    assert.equal(claims.phone_number, phone);
    assert.equal(claims.kind, 'anonymous');

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: `${RESULTS}demo.png`, fullPage: true });

    // Only the refresh token is stored; the access token stays in memory.
    const stored = await page.evaluate(() => Object.keys(localStorage));
    assert.deepEqual(stored, ['sesame.demo.refresh_token']);
    const token = await page.evaluate(() => localStorage.getItem('sesame.demo.refresh_token'));
    const payload = JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString());
    assert.equal(payload.sid, claims.sid);
    assert.equal(payload.jti === claims.jti, false);

    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('Refreshed once.').waitFor();
    const refreshed = JSON.parse(await claimsBox.innerText()) as Record<string, unknown>;
    assert.equal(refreshed.sid, claims.sid);
    assert.notEqual(refreshed.jti, claims.jti);

    // A reload keeps the session: the stored refresh token gets a new access token.
    await page.reload();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    await page.getByText(`"jti"`).waitFor();
    const reloaded = JSON.parse(await claimsBox.innerText()) as Record<string, unknown>;
    assert.equal(reloaded.sid, claims.sid);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in with your phone' }).waitFor();
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), []);

    // A wrong code shows the error's message.
    await page.getByLabel('Phone number').fill(phone);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('Code').fill('000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'That code is wrong or has expired.' })
      .waitFor();

    // The wrong code's 400 is the only thing the console may mention.
    const unexpected = problems.filter((text) => !text.includes('400 (Bad Request)'));
    assert.deepEqual(unexpected, [], 'no console errors (CSP violations show up there)');
    await page.close();
  });
});
