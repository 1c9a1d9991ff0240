// The live Sesame that scripts/test-typescript.sh starts: its URL, its admin key and its
// test numbers (fixed code, nothing sent, no send limits).
import { type FetchLike, SesameClient, type SesameClientOptions, memoryStorage } from '@sesame/client';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests with scripts/test-typescript.sh`);
  return value;
}

/** The server with the default reuse grace window (10 s). */
export const SESAME_URL = required('SESAME_URL');
/** A second server whose grace window is 1 s, for what happens after it. */
export const SHORT_GRACE_URL = required('SESAME_SHORT_GRACE_URL');
export const ADMIN_KEY = required('SESAME_ADMIN_KEY');
export const TEST_CODE = '424242';

/** Test number `n` (1–40): `+447700900001`… Each test uses its own, as tests run in parallel. */
export function testNumber(n: number): string {
  return `+447700900${String(n).padStart(3, '0')}`;
}

export function liveClient(options: Partial<SesameClientOptions> = {}): SesameClient {
  return new SesameClient({ issuer: SESAME_URL, storage: memoryStorage(), ...options });
}

export async function signedIn(n: number, options: Partial<SesameClientOptions> = {}) {
  const client = liveClient(options);
  await client.startLogin(testNumber(n));
  await client.verifyCode(testNumber(n), TEST_CODE);
  return client;
}

/** `fetch` that counts the refresh requests it sends. */
export function countingFetch(): { fetch: FetchLike; refreshes: () => number } {
  let refreshes = 0;
  return {
    fetch: async (input, init) => {
      if (typeof init?.body === 'string' && init.body.includes('grant_type=refresh_token')) refreshes++;
      return fetch(input, init);
    },
    refreshes: () => refreshes,
  };
}

export async function me(token: string, base = SESAME_URL): Promise<Response> {
  return fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
}

export async function adminRevokeSession(sid: string): Promise<void> {
  const response = await fetch(`${SESAME_URL}/admin/v1/sessions/${sid}/revoke`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  if (response.status !== 204) throw new Error(`admin revoke: ${response.status}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
