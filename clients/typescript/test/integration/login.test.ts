// Against a live Sesame: a whole login, refresh, logout, a revoked session, and the errors
// the server really sends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CountryNotAllowedError,
  InvalidGrantError,
  InvalidPhoneNumberError,
  NetworkError,
  NotSignedInError,
  RateLimitedError,
  SesameClient,
  SessionExpiredError,
  memoryStorage,
} from '@sesame/client';
import {
  SESAME_URL,
  TEST_CODE,
  adminRevokeSession,
  countingFetch,
  liveClient,
  me,
  signedIn,
  testNumber,
} from '../support/live.js';

describe('live login', () => {
  it('phone number → code → session, then an authorized API call', async () => {
    const client = liveClient();
    const events: string[] = [];
    client.onAuthStateChange((event) => events.push(event));
    const started = await client.startLogin('+44 7700 900001');
    assert.deepEqual(started, { channel: 'sms', expiresIn: 180, resendAfter: 30 });
    const claims = await client.verifyCode('+44 (7700) 900-001', TEST_CODE);
    assert.equal(claims?.phone_number, testNumber(1));
    assert.equal(claims?.kind, 'anonymous');
    assert.equal(client.state, 'signed_in');
    assert.deepEqual(events, ['INITIAL_SESSION', 'SIGNED_IN']);

    const response = await client.authorizedFetch(`${SESAME_URL}/v1/me`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { sub: string; phone_number: string };
    assert.equal(body.sub, claims?.sub);
    assert.equal(body.phone_number, testNumber(1));
  });

  it('refresh rotates the pair within the same session', async () => {
    const storage = memoryStorage();
    const client = await signedIn(2, { storage });
    const before = client.claims();
    const storedBefore = await storage.get('sesame.refresh_token');
    const access = await client.refresh();
    const after = client.claims();
    assert.equal(after?.sid, before?.sid);
    assert.notEqual(after?.jti, before?.jti);
    assert.notEqual(await storage.get('sesame.refresh_token'), storedBefore);
    assert.equal((await me(access)).status, 200);
  });

  it('50 concurrent getAccessToken() calls near expiry send one refresh', async () => {
    let offset = 0;
    const counting = countingFetch();
    const client = await signedIn(3, { fetch: counting.fetch, now: () => Date.now() + offset });
    offset = 850_000; // 50 s left of the 900 s access token
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()));
    assert.equal(counting.refreshes(), 1);
    assert.equal(new Set(tokens).size, 1);
    assert.equal((await me(tokens[0] ?? '')).status, 200);
  });

  it('logout revokes the session and signs out every instance on the storage', async () => {
    const storage = memoryStorage();
    const client = await signedIn(4, { storage });
    const other = liveClient({ storage });
    await other.getAccessToken();
    const access = await client.getAccessToken();
    await client.logout();
    assert.equal(client.state, 'signed_out');
    assert.equal(other.state, 'signed_out');
    assert.equal(await storage.get('sesame.refresh_token'), null);
    assert.equal((await me(access)).status, 401, 'the access token died with the session');
    await assert.rejects(other.getAccessToken(), NotSignedInError);
  });

  it('a session revoked by an admin is session_expired at the next refresh', async () => {
    const storage = memoryStorage();
    const client = await signedIn(5, { storage });
    const events: string[] = [];
    client.onAuthStateChange((event) => events.push(event));
    await adminRevokeSession(client.claims()?.sid ?? '');
    await assert.rejects(client.refresh(), SessionExpiredError);
    assert.deepEqual(events, ['SESSION_EXPIRED']);
    assert.equal(client.state, 'signed_out');
    assert.equal(await storage.get('sesame.refresh_token'), null);
    await assert.rejects(client.getAccessToken(), NotSignedInError);
  });

  it('a session revoked through /oauth/revoke elsewhere is session_expired too', async () => {
    const storage = memoryStorage();
    const client = await signedIn(6, { storage });
    const refreshToken = (await storage.get('sesame.refresh_token')) ?? '';
    const revoked = await fetch(`${SESAME_URL}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${encodeURIComponent(refreshToken)}`,
    });
    assert.equal(revoked.status, 200);
    const response = await client.authorizedFetch(`${SESAME_URL}/v1/me`).catch((error: unknown) => error);
    assert.ok(response instanceof SessionExpiredError, String(response));
  });

  it('the server’s errors arrive as typed errors with messages for people', async () => {
    const client = liveClient();
    await assert.rejects(client.startLogin('+44 12'), InvalidPhoneNumberError);
    await assert.rejects(client.startLogin('+1 650 253 0000'), CountryNotAllowedError);
    const wrong = await client.verifyCode(testNumber(7), '000000').catch((error: unknown) => error);
    assert.ok(wrong instanceof InvalidGrantError);
    assert.equal(wrong.message, 'That code is wrong or has expired. Check it, or ask for a new one.');

    // A real number (not a test number) has a resend cooldown: the second start is refused.
    await client.startLogin('+447700900999');
    const limited = await client.startLogin('+447700900999').catch((error: unknown) => error);
    assert.ok(limited instanceof RateLimitedError, String(limited));
    assert.ok(limited.retryAfter > 0 && limited.retryAfter <= 30, String(limited.retryAfter));
    assert.match(limited.message, /^Too many attempts\. Please wait \d+ seconds? and try again\.$/);
  });

  it('an unreachable server is network_error', async () => {
    const client = new SesameClient({ issuer: 'http://127.0.0.1:9', storage: memoryStorage() });
    await assert.rejects(client.startLogin(testNumber(8)), NetworkError);
  });
});
