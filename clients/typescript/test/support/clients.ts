import {
  type AuthEvent,
  type FetchLike,
  SesameClient,
  type SesameClientOptions,
  type StorageAdapter,
  memoryStorage,
} from '@sesame/client';
import { FakeSesame, manualClock } from './fake-sesame.js';

export const PHONE = '+447700900123';

/**
 * A fake server, a clock, and a client signed in on a fresh memory storage. `wrap` wraps the
 * fake's `fetch` (to delay or lose answers).
 */
export async function signedInClient(
  options: Partial<SesameClientOptions> = {},
  wrap: (fetch: FetchLike) => FetchLike = (fetch) => fetch,
) {
  const clock = manualClock();
  const fake = new FakeSesame(clock.now);
  const storage = options.storage ?? memoryStorage();
  const client = newClient(fake, storage, clock.now, { fetch: wrap(fake.fetch), ...options });
  await client.verifyCode(PHONE, '424242');
  fake.requests.length = 0;
  return { clock, fake, storage, client };
}

export function newClient(
  fake: FakeSesame,
  storage: StorageAdapter,
  now: () => number,
  options: Partial<SesameClientOptions> = {},
): SesameClient {
  return new SesameClient({
    issuer: 'https://sesame.test',
    fetch: fake.fetch,
    now,
    retryDelay: 1,
    ...options,
    storage,
  });
}

/** Every event `client` announces, in order. */
export function recordEvents(client: SesameClient): AuthEvent[] {
  const events: AuthEvent[] = [];
  client.onAuthStateChange((event) => events.push(event));
  return events;
}

/** A storage that tells nobody about changes: instances must re-read it (no `subscribe`). */
export function silentStorage(): StorageAdapter & { values: Map<string, string>; writes: string[] } {
  const values = new Map<string, string>();
  const writes: string[] = [];
  return {
    values,
    writes,
    async get(key) {
      return values.get(key) ?? null;
    },
    async set(key, value) {
      writes.push(value);
      values.set(key, value);
    },
    async delete(key) {
      values.delete(key);
    },
  };
}
