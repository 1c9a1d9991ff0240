// Login requests on the wire, events, claims.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidGrantError, memoryStorage } from '@sesame/client';
import { FakeSesame, manualClock } from '../support/fake-sesame.js';
import { PHONE, newClient, recordEvents } from '../support/clients.js';

function setup() {
  const clock = manualClock();
  const fake = new FakeSesame(clock.now);
  const storage = memoryStorage();
  const client = newClient(fake, storage, clock.now);
  return { clock, fake, storage, client };
}

describe('login', () => {
  it('startLogin posts JSON and maps the answer', async () => {
    const { fake, client } = setup();
    const started = await client.startLogin('+44 7700 900123', { channel: 'voice' });
    assert.deepEqual(started, { channel: 'voice', expiresIn: 180, resendAfter: 30 });
    const [request] = fake.requests;
    assert.equal(request?.path, '/v1/otp/start');
    assert.equal(request?.contentType, 'application/json');
    assert.deepEqual(request?.body, { phone_number: '+44 7700 900123', channel: 'voice' });
  });

  it('verifyCode sends an OAuth form (grant_type=otp) and signs in', async () => {
    const { fake, client, storage } = setup();
    const events = recordEvents(client);
    const claims = await client.verifyCode(PHONE, '424242');
    const [request] = fake.requests;
    assert.equal(request?.contentType, 'application/x-www-form-urlencoded');
    assert.deepEqual(request?.body, { grant_type: 'otp', phone_number: PHONE, code: '424242' });
    assert.equal(claims?.phone_number, PHONE);
    assert.equal(client.claims()?.sid, claims?.sid);
    assert.equal(client.state, 'signed_in');
    assert.deepEqual(events, ['INITIAL_SESSION', 'SIGNED_IN']);
    assert.ok(await storage.get('sesame.refresh_token'));
  });

  it('a wrong code is invalid_grant and leaves the client signed out', async () => {
    const { client, storage } = setup();
    const error = await client.verifyCode(PHONE, '000000').catch((caught: unknown) => caught);
    assert.ok(error instanceof InvalidGrantError);
    assert.equal(error.message, 'That code is wrong or has expired. Check it, or ask for a new one.');
    assert.equal(client.state, 'signed_out');
    assert.equal(await storage.get('sesame.refresh_token'), null);
  });

  it('logout forgets the session and revokes it with the refresh token', async () => {
    const { fake, client, storage } = setup();
    await client.verifyCode(PHONE, '424242');
    const refreshToken = await storage.get('sesame.refresh_token');
    const events = recordEvents(client);
    await client.logout();
    assert.deepEqual(events, ['SIGNED_OUT']);
    assert.equal(client.claims(), null);
    assert.equal(await storage.get('sesame.refresh_token'), null);
    const revoke = fake.requests.at(-1);
    assert.equal(revoke?.path, '/oauth/revoke');
    assert.deepEqual(revoke?.body, { token: refreshToken ?? '', token_type_hint: 'refresh_token' });
  });

  it('logout offline still signs out locally, and says the server was not told', async () => {
    const { fake, client, storage } = setup();
    await client.verifyCode(PHONE, '424242');
    fake.offline = true;
    await assert.rejects(client.logout(), { code: 'network_error' });
    assert.equal(client.state, 'signed_out');
    assert.equal(await storage.get('sesame.refresh_token'), null);
  });

  it('an unsubscribed listener hears nothing more; a throwing listener does not break the client', async () => {
    const { client } = setup();
    const heard: string[] = [];
    const stop = client.onAuthStateChange((event) => heard.push(event));
    client.onAuthStateChange(() => {
      throw new Error('listener bug');
    });
    const reported: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => reported.push(args[1]);
    try {
      await client.verifyCode(PHONE, '424242');
      stop();
      await client.logout();
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(heard, ['INITIAL_SESSION', 'SIGNED_IN']);
    assert.equal(client.state, 'signed_out');
    assert.ok(reported.length >= 1, 'the listener error is reported, not swallowed');
    assert.ok(reported.every((error) => error instanceof Error && error.message === 'listener bug'));
  });
});
