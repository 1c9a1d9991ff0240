// authorizedFetch: the bearer is added; a 401 costs one refresh and one retry, never more.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { json } from '../support/fake-sesame.js';
import { signedInClient } from '../support/clients.js';

const API = 'https://api.example.test/orders';

describe('authorizedFetch', () => {
  it('sends the access token as a bearer and keeps the caller’s headers', async () => {
    const { fake, client } = await signedInClient();
    const response = await client.authorizedFetch(API, { headers: { 'X-Trace': '1' }, method: 'GET' });
    assert.equal(response.status, 200);
    const [request] = fake.requests;
    assert.equal(request?.authorization, `Bearer ${await client.getAccessToken()}`);
    assert.equal(fake.refreshRequests.length, 0);
  });

  it('on a 401 refreshes once and retries once', async () => {
    const { fake, client } = await signedInClient();
    let rejected = 0;
    fake.override = (request) => {
      if (request.path === '/orders' && rejected++ === 0) return json(401, { error: 'invalid_token', error_description: 'revoked' });
      return undefined;
    };
    const before = await client.getAccessToken();
    const response = await client.authorizedFetch(API);
    assert.equal(response.status, 200);
    assert.equal(fake.refreshRequests.length, 1);
    const calls = fake.requests.filter((request) => request.path === '/orders');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.authorization, `Bearer ${before}`);
    assert.notEqual(calls[1]?.authorization, `Bearer ${before}`);
  });

  it('a second 401 is returned as is: no loop', async () => {
    const { fake, client } = await signedInClient();
    fake.override = (request) =>
      request.path === '/orders' ? json(401, { error: 'invalid_token', error_description: 'no' }) : undefined;
    const response = await client.authorizedFetch(API);
    assert.equal(response.status, 401);
    assert.equal(fake.requests.filter((request) => request.path === '/orders').length, 2);
    assert.equal(fake.refreshRequests.length, 1);
  });

  it('concurrent requests rejected with one token share one refresh', async () => {
    const { fake, client } = await signedInClient();
    const stale = await client.getAccessToken();
    fake.override = (request) =>
      request.path === '/orders' && request.authorization === `Bearer ${stale}`
        ? json(401, { error: 'invalid_token', error_description: 'revoked' })
        : undefined;
    const responses = await Promise.all(Array.from({ length: 10 }, () => client.authorizedFetch(API)));
    assert.ok(responses.every((response) => response.status === 200));
    assert.equal(fake.refreshRequests.length, 1);
  });
});
