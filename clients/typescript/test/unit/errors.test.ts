// Error mapping: every code of the contract becomes its own class with a stable code and a
// message for people; the client's own codes (network_error, session_expired) stay distinct.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CountryNotAllowedError,
  DeliveryFailedError,
  InvalidGrantError,
  InvalidPhoneNumberError,
  InvalidRequestError,
  NetworkError,
  RateLimitedError,
  ServerError,
  SesameError,
  TemporarilyUnavailableError,
  UnsupportedGrantTypeError,
  errorMessages,
} from '@sesame/client';
import { json } from '../support/fake-sesame.js';
import { signedInClient } from '../support/clients.js';

const cases = [
  ['invalid_request', 400, InvalidRequestError],
  ['invalid_phone_number', 400, InvalidPhoneNumberError],
  ['country_not_allowed', 400, CountryNotAllowedError],
  ['invalid_grant', 400, InvalidGrantError],
  ['unsupported_grant_type', 400, UnsupportedGrantTypeError],
  ['rate_limited', 429, RateLimitedError],
  ['delivery_failed', 502, DeliveryFailedError],
  ['temporarily_unavailable', 503, TemporarilyUnavailableError],
  ['server_error', 500, ServerError],
] as const;

describe('errors', () => {
  for (const [code, status, type] of cases) {
    it(`${status} ${code} is a ${type.name} with a message for people`, async () => {
      const { fake, client } = await signedInClient();
      fake.override = () =>
        json(status, { error: code, error_description: `server says ${code}` }, { 'retry-after': '42' });
      const error = await client.startLogin('+447700900123').catch((caught: unknown) => caught);
      assert.ok(error instanceof type, String(error));
      assert.ok(error instanceof SesameError);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.description, `server says ${code}`);
      assert.equal(error.name, type.name);
      if (error instanceof RateLimitedError) {
        assert.equal(error.retryAfter, 42);
        assert.equal(error.message, 'Too many attempts. Please wait 42 seconds and try again.');
      } else {
        assert.equal(error.message, errorMessages[code]);
      }
    });
  }

  it('an unknown code keeps its code, with a generic message', async () => {
    const { fake, client } = await signedInClient();
    fake.override = () => json(418, { error: 'teapot', error_description: 'short and stout' });
    const error = await client.startLogin('+447700900123').catch((caught: unknown) => caught);
    assert.ok(error instanceof SesameError);
    assert.equal(error.code, 'teapot');
    assert.equal(error.message, 'Something went wrong (teapot). Please try again.');
  });

  it('an answer that is not Sesame JSON is mapped from its status', async () => {
    const { fake, client } = await signedInClient();
    fake.override = () => new Response('<html>Bad gateway</html>', { status: 503 });
    await assert.rejects(client.startLogin('+447700900123'), TemporarilyUnavailableError);
    fake.override = () => new Response('', { status: 429, headers: { 'retry-after': '7' } });
    await assert.rejects(client.startLogin('+447700900123'), { code: 'rate_limited', retryAfter: 7 });
  });

  it('no answer at all is network_error, not temporarily_unavailable', async () => {
    const { fake, client } = await signedInClient();
    fake.offline = true;
    const error = await client.startLogin('+447700900123').catch((caught: unknown) => caught);
    assert.ok(error instanceof NetworkError);
    assert.equal(error.code, 'network_error');
    assert.ok(!(error instanceof TemporarilyUnavailableError));
    assert.ok(error.cause instanceof TypeError);
  });

  it('a request that takes too long is aborted and is network_error', async () => {
    const { client } = await signedInClient({ requestTimeout: 20 }, (fetch) => (input, init) =>
      input.endsWith('/v1/otp/start')
        ? new Promise((_resolve, reject) => {
            init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          })
        : fetch(input, init),
    );
    await assert.rejects(client.startLogin('+447700900123'), { code: 'network_error', description: 'no answer within 20 ms' });
  });
});
