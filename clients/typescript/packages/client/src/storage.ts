/**
 * Where the refresh token lives between app launches. Three async methods; an adapter over
 * the platform's secure store (Keychain / Keystore) is a few lines (see the README).
 *
 * Only the refresh token is ever written: access tokens stay in memory.
 */
export interface StorageAdapter {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Optional: calls `listener` when another client instance (another browser tab) changes
   * `key`, with the new value (`null` when deleted). Returns an unsubscribe function. Without
   * it the client still re-reads storage before every refresh.
   */
  subscribe?(key: string, listener: (value: string | null) => void): () => void;
}

/**
 * Storage in memory, for tests and for apps that want no persistence. Instances that share
 * one memory storage see each other's writes, like browser tabs sharing `localStorage`.
 */
export function memoryStorage(initial: Record<string, string> = {}): StorageAdapter & {
  /** A copy of what is stored, for tests. */
  snapshot(): Record<string, string>;
} {
  const values = new Map<string, string>(Object.entries(initial));
  const listeners = new Set<{ key: string; listener: (value: string | null) => void }>();
  const notify = (key: string, value: string | null) => {
    for (const entry of [...listeners]) {
      if (entry.key === key) entry.listener(value);
    }
  };
  return {
    async get(key) {
      return values.get(key) ?? null;
    },
    async set(key, value) {
      if (values.get(key) === value) return;
      values.set(key, value);
      notify(key, value);
    },
    async delete(key) {
      if (!values.has(key)) return;
      values.delete(key);
      notify(key, null);
    },
    subscribe(key, listener) {
      const entry = { key, listener };
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    snapshot() {
      return Object.fromEntries(values);
    },
  };
}
