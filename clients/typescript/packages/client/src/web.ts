/**
 * Browser-only parts, each behind a feature check so that importing this package in React
 * Native or Node never touches `window` or `document`.
 */
import type { StorageAdapter } from './storage.js';

/** The few members of the browser's globals used here (no DOM typings needed). */
interface BrowserGlobals {
  localStorage?: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  addEventListener?(type: string, listener: (event: StorageChange) => void): void;
  removeEventListener?(type: string, listener: (event: StorageChange) => void): void;
  document?: {
    visibilityState?: string;
    addEventListener(type: string, listener: () => void): void;
    removeEventListener(type: string, listener: () => void): void;
  };
}

interface StorageChange {
  key: string | null;
  newValue: string | null;
  storageArea?: unknown;
}

const browser = globalThis as unknown as BrowserGlobals;

/**
 * `localStorage`, for web apps. Other tabs' writes arrive through the `storage` event, so a
 * tab adopts the refresh token another tab obtained instead of spending an old one.
 *
 * A refresh token in `localStorage` is readable by any script on the page: keep the page's
 * Content-Security-Policy strict (Sesame's own `/demo` page does).
 */
export function localStorageAdapter(): StorageAdapter {
  const storage = browser.localStorage;
  if (!storage) throw new Error('localStorageAdapter: this environment has no localStorage');
  return {
    async get(key) {
      return storage.getItem(key);
    },
    async set(key, value) {
      storage.setItem(key, value);
    },
    async delete(key) {
      storage.removeItem(key);
    },
    subscribe(key, listener) {
      if (!browser.addEventListener || !browser.removeEventListener) return () => {};
      const onStorage = (event: StorageChange) => {
        // `key` is null when another tab cleared the whole storage.
        if (event.storageArea !== storage) return;
        if (event.key === key) listener(event.newValue);
        else if (event.key === null) listener(null);
      };
      browser.addEventListener('storage', onStorage);
      return () => browser.removeEventListener?.('storage', onStorage);
    },
  };
}

/**
 * Calls `client.resume()` whenever the page becomes visible again (a laptop opened, a tab
 * brought back), so an access token that expired meanwhile is refreshed once, before the
 * page's own requests. Returns a function that stops listening; does nothing outside a browser.
 */
export function resumeWhenVisible(client: { resume(): Promise<void> }): () => void {
  const document = browser.document;
  if (!document || typeof document.addEventListener !== 'function') return () => {};
  const onChange = () => {
    if (document.visibilityState === 'visible') void client.resume();
  };
  document.addEventListener('visibilitychange', onChange);
  return () => document.removeEventListener('visibilitychange', onChange);
}
