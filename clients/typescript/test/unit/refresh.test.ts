// Refreshing: single flight, the 60-second margin, lost answers retried in the grace window,
// and a refused refresh ending the session once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkError, NotSignedInError, SessionExpiredError } from '@sesame/client';
import { json } from '../support/fake-sesame.js';
import { recordEvents, signedInClient } from '../support/clients.js';

describe('refresh', () => {
  it('50 concurrent getAccessToken() calls share one refresh request', async () => {
    const { clock, fake, client } = await signedInClient();
    clock.advance(900_000); // the access token has expired
    const tokens = await Promise.all(Array.from({ length: 50 }, () => client.getAccessToken()));
    assert.equal(fake.refreshRequests.length, 1);
    assert.equal(new Set(tokens).size, 1);
    assert.equal(tokens[0], (await client.getAccessToken()), 'the new token is kept');
    assert.equal(fake.refreshRequests.length, 1);
  });

  it('refreshes only when the access token has under 60 seconds left', async () => {
    const { clock, fake, client } = await signedInClient();
    const first = await client.getAccessToken();
    clock.advance((900 - 61) * 1000);
    assert.equal(await client.getAccessToken(), first);
    assert.equal(fake.refreshRequests.length, 0);
    clock.advance(2_000); // 59 s left
    const second = await client.getAccessToken();
    assert.notEqual(second, first);
    assert.equal(fake.refreshRequests.length, 1);
  });

  it('refreshes a short-lived token at half its lifetime, not on every call', async () => {
    const { clock, fake, client } = await signedInClient();
    fake.accessTtl = 30;
    await client.refresh();
    fake.requests.length = 0;
    clock.advance(14_000);
    await client.getAccessToken();
    assert.equal(fake.refreshRequests.length, 0);
    clock.advance(2_000);
    await client.getAccessToken();
    assert.equal(fake.refreshRequests.length, 1);
  });

  it('retries a refresh whose answer was lost with the same token and adopts the same pair', async () => {
    const { fake, storage, client } = await signedInClient();
    const spent = await storage.get('sesame.refresh_token');
    fake.loseRefreshAnswers = 1;
    const access = await client.refresh();
    const [lost, retry] = fake.refreshRequests;
    assert.equal(fake.refreshRequests.length, 2);
    assert.equal(lost?.body.refresh_token, spent);
    assert.equal(retry?.body.refresh_token, spent, 'the retry re-sends the same refresh token');
    // The server answered the retry with the pair it issued for the lost answer.
    const successor = await storage.get('sesame.refresh_token');
    assert.notEqual(successor, spent);
    assert.equal(fake.sidOf(successor ?? ''), client.claims()?.sid);
    assert.equal(access, await client.getAccessToken());
  });

  it('after the grace window a lost answer ends the session once, without looping', async () => {
    const { clock, fake, storage, client } = await signedInClient();
    const events = recordEvents(client);
    // Every answer is lost: the client gives up within its retry window, keeping the session.
    fake.loseRefreshAnswers = 4;
    await assert.rejects(client.refresh(), NetworkError);
    assert.equal(fake.refreshRequests.length, 4);
    assert.equal(new Set(fake.refreshRequests.map((r) => r.body.refresh_token)).size, 1);
    assert.equal(client.state, 'signed_in');
    // Back online after the server's grace window (and the access token's life): the spent
    // token is refused.
    clock.advance(900_000);
    await assert.rejects(client.getAccessToken(), SessionExpiredError);
    assert.equal(fake.refreshRequests.length, 5);
    assert.equal(await storage.get('sesame.refresh_token'), null);
    assert.deepEqual(events, ['SESSION_EXPIRED']);
    assert.equal(client.state, 'signed_out');
    await assert.rejects(client.getAccessToken(), NotSignedInError);
    assert.equal(fake.refreshRequests.length, 5, 'no request after the session ended');
  });

  it('a refused refresh (revoked session) is session_expired: storage cleared, no further request', async () => {
    const { clock, fake, storage, client } = await signedInClient();
    const events = recordEvents(client);
    fake.revokeSession(client.claims()?.sid ?? '');
    clock.advance(900_000);
    const error = await client.getAccessToken().catch((caught: unknown) => caught);
    assert.ok(error instanceof SessionExpiredError);
    assert.equal(error.code, 'session_expired');
    assert.equal(error.message, 'Your session has ended. Please sign in again.');
    assert.equal(await storage.get('sesame.refresh_token'), null);
    assert.deepEqual(events, ['SESSION_EXPIRED']);
    await assert.rejects(client.getAccessToken(), NotSignedInError);
    await assert.rejects(client.refresh(), NotSignedInError);
    assert.equal(fake.refreshRequests.length, 1);
  });

  it('a network that stays down is network_error after a bounded number of attempts; the session stays', async () => {
    const { clock, fake, storage, client } = await signedInClient();
    const stored = await storage.get('sesame.refresh_token');
    clock.advance(900_000);
    fake.offline = true;
    await assert.rejects(client.getAccessToken(), NetworkError);
    assert.equal(await storage.get('sesame.refresh_token'), stored);
    assert.equal(client.state, 'signed_in');
    fake.offline = false;
    assert.ok(await client.getAccessToken());
  });

  it('retries at most four times and stops at the retry window', async () => {
    const { clock, fake, client } = await signedInClient({ refreshRetryWindow: 8_000, retryDelay: 1 });
    let attempts = 0;
    fake.override = (request) => {
      if (request.body.grant_type !== 'refresh_token') return undefined;
      attempts++;
      return json(503, { error: 'temporarily_unavailable', error_description: 'down' });
    };
    await assert.rejects(client.refresh(), { code: 'temporarily_unavailable' });
    assert.equal(attempts, 4);

    attempts = 0;
    fake.override = (request) => {
      if (request.body.grant_type !== 'refresh_token') return undefined;
      attempts++;
      clock.advance(5_000); // each attempt takes 5 s: the second one ends the window
      return json(503, { error: 'temporarily_unavailable', error_description: 'down' });
    };
    await assert.rejects(client.refresh(), { code: 'temporarily_unavailable' });
    assert.equal(attempts, 2);
  });

  it('resume() refreshes only a token near expiry and never rejects', async () => {
    const { clock, fake, client } = await signedInClient();
    await client.resume();
    assert.equal(fake.refreshRequests.length, 0);
    clock.advance(3 * 3600_000); // a phone woken after hours
    await client.resume();
    assert.equal(fake.refreshRequests.length, 1);
    const tokenAfterResume = await client.getAccessToken();
    assert.equal(fake.refreshRequests.length, 1, 'requests after resume use the fresh token');
    assert.ok(tokenAfterResume);
    clock.advance(3 * 3600_000);
    fake.offline = true;
    await client.resume(); // resolves although the network is down
    fake.offline = false;
    await client.logout();
    fake.requests.length = 0;
    await client.resume();
    assert.equal(fake.requests.length, 0, 'nothing to resume when signed out');
  });
});
