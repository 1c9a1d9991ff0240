// Against a live Sesame: lost answers retried inside the reuse grace window, what happens
// after it, and two client instances on one storage refreshing concurrently.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type FetchLike,
  NetworkError,
  SessionExpiredError,
  type StorageAdapter,
  memoryStorage,
} from '@sesame/client';
import { SHORT_GRACE_URL, liveClient, me, signedIn, sleep } from '../support/live.js';

interface Lost {
  access_token: string;
  refresh_token: string;
}

/**
 * `fetch` whose first `lose` refresh answers are lost: the request reaches the server and
 * is processed, then the connection "drops" before the client sees the answer.
 */
function losingFetch(lose: number): { fetch: FetchLike; lost: Lost[]; sent: string[] } {
  const lost: Lost[] = [];
  const sent: string[] = [];
  return {
    lost,
    sent,
    fetch: async (input, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      const response = await fetch(input, init);
      if (body.includes('grant_type=refresh_token')) {
        sent.push(new URLSearchParams(body).get('refresh_token') ?? '');
        if (lost.length < lose) {
          lost.push((await response.json()) as Lost);
          throw new TypeError('fetch failed: connection reset by peer');
        }
      }
      return response;
    },
  };
}

describe('live refresh', () => {
  it('a refresh whose answer was lost is retried with the same token and gets the identical pair', async () => {
    const storage = memoryStorage();
    const losing = losingFetch(1);
    const client = await signedIn(10, { storage, fetch: losing.fetch });
    const spent = await storage.get('sesame.refresh_token');
    const access = await client.refresh();
    assert.deepEqual(losing.sent, [spent, spent], 'the retry re-sends the spent token');
    const [lost] = losing.lost;
    assert.equal(access, lost?.access_token, 'the very pair whose answer was lost');
    assert.equal(await storage.get('sesame.refresh_token'), lost?.refresh_token);
    assert.equal((await me(access)).status, 200, 'the session is alive');
    // And it keeps working: the next rotation spends the adopted token.
    await client.refresh();
    assert.equal(losing.sent.at(-1), lost?.refresh_token);
  });

  it('after the grace window the lost answer costs the session: session_expired, once', async () => {
    const storage = memoryStorage();
    const losing = losingFetch(4);
    const client = await signedIn(11, { storage, fetch: losing.fetch, issuer: SHORT_GRACE_URL });
    const events: string[] = [];
    client.onAuthStateChange((event) => events.push(event));
    // Every attempt's answer is lost: the client gives up, keeping the session for later.
    await assert.rejects(client.refresh(), NetworkError);
    assert.equal(losing.sent.length, 4);
    assert.equal(client.state, 'signed_in');
    await sleep(2_500); // the server's window is 1 s
    await assert.rejects(client.refresh(), SessionExpiredError);
    assert.equal(losing.sent.length, 5, 'one more request, no loop');
    assert.deepEqual(events, ['SESSION_EXPIRED']);
    assert.equal(await storage.get('sesame.refresh_token'), null);
    // The server treated the late retry as reuse and ended the session.
    const [lost] = losing.lost;
    assert.equal((await me(lost?.access_token ?? '', SHORT_GRACE_URL)).status, 401);
  });

  it('two instances on one storage refreshing concurrently for 50 rounds keep one session', async () => {
    const storage = memoryStorage();
    const first = await signedIn(12, { storage });
    const second = liveClient({ storage });
    const events: string[] = [];
    for (const client of [first, second]) client.onAuthStateChange((event) => events.push(event));
    const sids = new Set<string | undefined>();
    for (let round = 0; round < 50; round++) {
      const stagger = round % 4; // at once, or one a few milliseconds after the other
      const [a, b] = await Promise.all([
        first.refresh(),
        sleep(stagger).then(() => second.refresh()),
      ]);
      assert.ok(a && b);
      sids.add(first.claims()?.sid);
      sids.add(second.claims()?.sid);
    }
    assert.equal(sids.size, 1, `one session: ${[...sids].join(', ')}`);
    assert.ok(
      !events.includes('SIGNED_OUT') && !events.includes('SESSION_EXPIRED'),
      `never signed out or expired: ${events.join(', ')}`,
    );
    for (const client of [first, second]) {
      assert.equal(client.state, 'signed_in');
      assert.equal((await me(await client.getAccessToken())).status, 200);
    }
  });

  it('an instance re-reads storage before refreshing, so turns past the grace window never reuse a token', async () => {
    // A storage that tells nobody about changes: each instance must re-read it.
    const values = new Map<string, string>();
    const storage: StorageAdapter = {
      get: async (key) => values.get(key) ?? null,
      set: async (key, value) => void values.set(key, value),
      delete: async (key) => void values.delete(key),
    };
    const first = await signedIn(13, { storage, issuer: SHORT_GRACE_URL });
    const second = liveClient({ storage, issuer: SHORT_GRACE_URL });
    await second.getAccessToken();
    for (const client of [first, second, first, second]) {
      await sleep(2_200); // past the 1 s grace window of the last rotation
      await client.refresh();
    }
    assert.equal(first.claims()?.sid, second.claims()?.sid);
    assert.equal((await me(await first.getAccessToken(), SHORT_GRACE_URL)).status, 200);
  });
});
