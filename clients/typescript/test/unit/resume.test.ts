// The provider's resume wiring: React Native's AppState and the page's visibility each call
// client.resume() when the app comes back, and stop doing so once the provider unmounts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { type AppStateLike, resumeOnReturn } from '@sesame/react';

/** A client that counts its resumes. */
function countingClient() {
  const client = { resumes: 0, resume: async () => void client.resumes++ };
  return client;
}

/** React Native's AppState, driven by the test. */
function fakeAppState() {
  const listeners = new Set<(state: string) => void>();
  const appState: AppStateLike & { emit(state: string): void; listening(): number } = {
    addEventListener(_type, listener) {
      listeners.add(listener);
      return { remove: () => void listeners.delete(listener) };
    },
    emit: (state) => listeners.forEach((listener) => listener(state)),
    listening: () => listeners.size,
  };
  return appState;
}

/** A page's `document`, its visibility driven by the test. */
class FakeDocument extends EventTarget {
  visibilityState = 'visible';
  become(state: string) {
    this.visibilityState = state;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

const global = globalThis as { document?: unknown };

describe('resume on return', () => {
  afterEach(() => delete global.document);

  it("resumes each time React Native's AppState turns active, until unmounted", () => {
    const client = countingClient();
    const appState = fakeAppState();
    const stop = resumeOnReturn(client, appState);
    appState.emit('background');
    appState.emit('inactive');
    assert.equal(client.resumes, 0);
    appState.emit('active');
    appState.emit('background');
    appState.emit('active');
    assert.equal(client.resumes, 2);
    stop();
    assert.equal(appState.listening(), 0);
    appState.emit('active');
    assert.equal(client.resumes, 2);
  });

  it('resumes each time the page becomes visible, until unmounted', () => {
    const page = new FakeDocument();
    global.document = page;
    const client = countingClient();
    const stop = resumeOnReturn(client);
    page.become('hidden');
    assert.equal(client.resumes, 0);
    page.become('visible');
    assert.equal(client.resumes, 1);
    stop();
    page.become('hidden');
    page.become('visible');
    assert.equal(client.resumes, 1);
  });

  it('does nothing outside a browser without an AppState', () => {
    const client = countingClient();
    const stop = resumeOnReturn(client);
    stop();
    assert.equal(client.resumes, 0);
  });
});
