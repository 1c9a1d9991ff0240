// Storage: only the refresh token is persisted; several instances on one storage adopt each
// other's tokens and never end a session over a refresh race.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotSignedInError, memoryStorage } from '@sesame/client';
import { FakeSesame, manualClock } from '../support/fake-sesame.js';
import { PHONE, newClient, recordEvents, signedInClient, silentStorage } from '../support/clients.js';

const KEY = 'sesame.refresh_token';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('storage', () => {
  it('persists the refresh token only, never the access token', async () => {
    const storage = silentStorage();
    const { client, clock } = await signedInClient({ storage });
    clock.advance(900_000);
    const access = await client.getAccessToken();
    await client.refresh();
    assert.deepEqual([...storage.values.keys()], [KEY]);
    assert.equal(storage.writes.length, 3, 'login, then two refreshes');
    for (const written of storage.writes) {
      assert.notEqual(written, access);
      assert.equal(JSON.parse(Buffer.from(written.split('.')[1] ?? '', 'base64url').toString()).typ, 'refresh');
    }
  });

  it('a new instance on the same storage starts signed in and refreshes to get an access token', async () => {
    const { fake, storage, clock } = await signedInClient();
    const reopened = newClient(fake, storage, clock.now);
    const events = recordEvents(reopened);
    assert.equal(reopened.claims(), null);
    assert.ok(await reopened.getAccessToken());
    assert.equal(reopened.state, 'signed_in');
    assert.deepEqual(events, ['INITIAL_SESSION', 'TOKEN_REFRESHED']);
    assert.equal(reopened.claims()?.phone_number, PHONE);
  });

  it('without a stored session getAccessToken() is not_signed_in and sends nothing', async () => {
    const clock = manualClock();
    const fake = new FakeSesame(clock.now);
    const client = newClient(fake, memoryStorage(), clock.now);
    await assert.rejects(client.getAccessToken(), NotSignedInError);
    assert.equal(client.state, 'signed_out');
    assert.equal(fake.requests.length, 0);
  });

  it('re-reads storage before refreshing and uses the newer token another instance stored', async () => {
    const storage = silentStorage();
    const { fake, clock, client: first } = await signedInClient({ storage });
    const second = newClient(fake, storage, clock.now);
    await second.getAccessToken(); // rotates the stored token
    const newer = storage.values.get(KEY);
    fake.requests.length = 0;
    await first.refresh();
    assert.equal(fake.refreshRequests[0]?.body.refresh_token, newer, 'not the token it spent itself');
    assert.equal(first.state, 'signed_in');
  });

  it('adopts a token another instance stored instead of ending the session on invalid_grant', async () => {
    const storage = silentStorage();
    const { fake, client: first } = await signedInClient({ storage });
    const events = recordEvents(first);
    fake.revokeSession(first.claims()?.sid ?? '');
    // While the refused refresh is on its way, another instance signs in on this storage.
    let newSession = '';
    fake.override = (request) => {
      if (request.body.grant_type === 'refresh_token' && newSession === '') {
        const pair = fake.login();
        newSession = fake.sidOf(pair.refresh_token) ?? '';
        storage.values.set(KEY, pair.refresh_token);
      }
      return undefined;
    };
    await first.refresh();
    assert.equal(fake.refreshRequests.length, 2, 'the refused token, then the adopted one');
    assert.equal(first.state, 'signed_in');
    assert.equal(first.claims()?.sid, newSession);
    assert.deepEqual(events, ['SIGNED_IN', 'TOKEN_REFRESHED']);
  });

  it('a logout in one instance signs out the others on a notifying storage', async () => {
    const { fake, storage, clock, client: first } = await signedInClient();
    const second = newClient(fake, storage, clock.now);
    await second.getAccessToken();
    const events = recordEvents(second);
    await first.logout();
    assert.equal(second.state, 'signed_out');
    assert.deepEqual(events, ['SIGNED_OUT']);
    await assert.rejects(second.getAccessToken(), NotSignedInError);
  });

  it('a sign-in in another instance reaches the others at once on a notifying storage', async () => {
    const { fake, storage, clock, client: first } = await signedInClient();
    const second = newClient(fake, storage, clock.now);
    await second.getAccessToken();
    const events = recordEvents(second);
    await first.verifyCode(PHONE, '424242'); // a new session
    assert.deepEqual(events, ['SIGNED_IN']);
    assert.equal(second.claims(), null, "the old session's access token is dropped");
    await second.getAccessToken();
    assert.equal(second.claims()?.sid, first.claims()?.sid);
  });

  it('two instances refreshing one storage, together or in turns, for 50 rounds keep one session', async () => {
    for (const storage of [memoryStorage(), silentStorage()]) {
      const clock = manualClock();
      const fake = new FakeSesame(clock.now);
      const first = newClient(fake, storage, clock.now);
      await first.verifyCode(PHONE, '424242');
      const second = newClient(fake, storage, clock.now);
      const events = [...[first, second].map(recordEvents)];
      const sids = new Set<string | undefined>();
      for (let round = 0; round < 50; round++) {
        // Both at once, one a little after the other, or only one of them.
        const pattern = round % 4;
        await Promise.all([
          pattern === 3 ? null : first.refresh(),
          pattern === 2 ? null : sleep(pattern).then(() => second.refresh()),
        ]);
        sids.add(first.claims()?.sid);
        sids.add(second.claims()?.sid);
        // Past the grace window: an instance that sent a token the other had already
        // rotated would now end the session.
        clock.advance(11_000);
      }
      assert.equal(sids.size, 1);
      assert.equal(first.state, 'signed_in');
      assert.equal(second.state, 'signed_in');
      for (const list of events) {
        assert.ok(!list.includes('SESSION_EXPIRED') && !list.includes('SIGNED_OUT'), String(list));
      }
      assert.equal(fake.sidOf((await storage.get(KEY)) ?? ''), sids.values().next().value);
    }
  });

  it('does not overwrite a newer token with an older one after a slow refresh', async () => {
    const storage = silentStorage();
    let hold: Promise<void> | null = null;
    let release = () => {};
    const { fake, clock, client: first } = await signedInClient({ storage }, (fetch) => async (input, init) => {
      const response = await fetch(input, init);
      if (hold) await hold;
      return response;
    });
    const second = newClient(fake, storage, clock.now);
    // The first instance's refresh is processed, but its answer arrives late: meanwhile the
    // second gets the same pair (grace window), then refreshes once more.
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const slow = first.refresh();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await second.refresh();
    await second.refresh();
    const newest = storage.values.get(KEY);
    release();
    await slow;
    assert.equal(storage.values.get(KEY), newest, 'storage only moves forward');
    assert.equal(first.claims()?.sid, second.claims()?.sid);
    // The next refresh of the slow instance uses the newest token, not the one it received.
    hold = null;
    fake.requests.length = 0;
    await first.refresh();
    assert.equal(fake.refreshRequests[0]?.body.refresh_token, newest);
  });
});
