/**
 * The Sesame client: login with a phone number and a code, then an access token on demand.
 *
 * How refreshing works (the README has the long version):
 * - Single flight: every caller that needs a refresh while one is running waits for that one.
 * - Lost answers: a refresh whose answer never arrived is sent again with the same refresh
 *   token, within a budget shorter than Sesame's reuse grace window, where the server answers
 *   a retry with the very same pair.
 * - Several instances on one storage (browser tabs, app and extension): storage is the source
 *   of truth. Before each refresh the client re-reads it and uses the newest refresh token;
 *   after a refresh it writes its pair only if storage still holds the token it spent (or
 *   the same new one), so storage only moves forward. Two instances that refresh the same
 *   token at once both get the same pair from the server, so no cross-instance lock is needed.
 * - A refused refresh (`invalid_grant`) ends the session only if storage holds no newer token.
 */
import {
  InvalidGrantError,
  NetworkError,
  NotSignedInError,
  ServerError,
  SesameError,
  SessionExpiredError,
  TemporarilyUnavailableError,
} from './errors.js';
import { type FetchLike, formBody, request } from './http.js';
import { type AccessTokenClaims, decodeJwt } from './jwt.js';
import type { StorageAdapter } from './storage.js';

export type AuthState = 'loading' | 'signed_in' | 'signed_out';

/**
 * - `INITIAL_SESSION`: storage was read; `state` says whether a session was found.
 * - `SIGNED_IN`: a code was verified here, or another instance signed in on the same storage.
 * - `TOKEN_REFRESHED`: a new access token (its claims may have narrowed).
 * - `SIGNED_OUT`: `logout()` here or in another instance on the same storage.
 * - `SESSION_EXPIRED`: the session can no longer be refreshed (revoked, expired, refused).
 */
export type AuthEvent =
  | 'INITIAL_SESSION'
  | 'SIGNED_IN'
  | 'TOKEN_REFRESHED'
  | 'SIGNED_OUT'
  | 'SESSION_EXPIRED';

export interface AuthSnapshot {
  state: AuthState;
  /** The access token's claims, decoded but not verified; `null` without an access token. */
  claims: AccessTokenClaims | null;
}

export type AuthListener = (event: AuthEvent, snapshot: AuthSnapshot) => void;

export interface SesameClientOptions {
  /** Sesame's base URL, e.g. `https://login.example.com`. */
  issuer: string;
  /** Where the refresh token is kept: `localStorageAdapter()`, a secure-store adapter, `memoryStorage()`. */
  storage: StorageAdapter;
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Storage key of the refresh token. Default `sesame.refresh_token`. */
  storageKey?: string;
  /** Refresh when the access token has fewer seconds left than this. Default 60. */
  refreshMargin?: number;
  /** Milliseconds a login request may take. Default 30000. */
  requestTimeout?: number;
  /** Milliseconds one refresh attempt may take before it counts as lost. Default 4000. */
  refreshAttemptTimeout?: number;
  /**
   * Milliseconds after the first attempt within which a lost refresh is retried with the same
   * token. Keep it under the server's `SESAME_REFRESH_REUSE_GRACE` (10 s by default). Default 8000.
   */
  refreshRetryWindow?: number;
  /** First backoff before a retry, doubled per retry. Default 250 ms. */
  retryDelay?: number;
  /** Milliseconds since the epoch; tests pass a fake clock. */
  now?: () => number;
}

export interface LoginStarted {
  channel: 'sms' | 'voice';
  /** Seconds the code stays valid. */
  expiresIn: number;
  /** Seconds before another code may be requested. */
  resendAfter: number;
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

interface AccessToken {
  token: string;
  /** When to refresh (client clock, from `expires_in`: immune to a phone's wrong time). */
  refreshAt: number;
  claims: AccessTokenClaims | null;
}

/** Adoptions of a newer stored token allowed in one refresh, so a refresh never loops. */
const MAX_ADOPTIONS = 3;
/** Attempts of one refresh request whose answers are lost. */
const MAX_ATTEMPTS = 4;

function sessionOf(token: string | null): string | null {
  if (token === null) return null;
  const sid = decodeJwt(token)?.sid;
  return typeof sid === 'string' ? sid : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tokenPair(body: unknown): TokenPair {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { access_token, refresh_token, expires_in } = fields;
  if (
    typeof access_token !== 'string' ||
    typeof refresh_token !== 'string' ||
    typeof expires_in !== 'number'
  ) {
    throw new ServerError({ description: 'the token answer lacks a field' });
  }
  return { access_token, refresh_token, expires_in };
}

export class SesameClient {
  private readonly issuer: string;
  private readonly storage: StorageAdapter;
  private readonly fetchFn: FetchLike;
  private readonly key: string;
  private readonly refreshMargin: number;
  private readonly requestTimeout: number;
  private readonly refreshAttemptTimeout: number;
  private readonly refreshRetryWindow: number;
  private readonly retryDelay: number;
  private readonly now: () => number;

  private currentState: AuthState = 'loading';
  private access: AccessToken | null = null;
  /** The refresh token this instance last knew of; storage may hold a newer one. */
  private refreshToken: string | null = null;
  private loading: Promise<void> | null = null;
  private inflight: Promise<string> | null = null;
  private readonly listeners = new Set<AuthListener>();
  private readonly stopWatchingStorage: (() => void) | null;

  constructor(options: SesameClientOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
    this.storage = options.storage;
    const globalFetch = (input: string, init?: RequestInit) => globalThis.fetch(input, init);
    this.fetchFn = options.fetch ?? globalFetch;
    this.key = options.storageKey ?? 'sesame.refresh_token';
    this.refreshMargin = options.refreshMargin ?? 60;
    this.requestTimeout = options.requestTimeout ?? 30_000;
    this.refreshAttemptTimeout = options.refreshAttemptTimeout ?? 4_000;
    this.refreshRetryWindow = options.refreshRetryWindow ?? 8_000;
    this.retryDelay = options.retryDelay ?? 250;
    this.now = options.now ?? Date.now;
    this.stopWatchingStorage =
      this.storage.subscribe?.(this.key, (value) => this.onStorageChange(value)) ?? null;
    // Read storage at once, so `state` settles without waiting for the first call.
    this.ensureLoaded().catch(() => {});
  }

  /** `loading` until storage has been read, then `signed_in` or `signed_out`. */
  get state(): AuthState {
    return this.currentState;
  }

  /** The current access token's claims, decoded but NOT verified (for display); `null` if none. */
  claims(): AccessTokenClaims | null {
    return this.access?.claims ?? null;
  }

  /** Calls `listener` on every change; returns the function that unsubscribes it. */
  onAuthStateChange(listener: AuthListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Sends a code to `phoneNumber` (any common format; `+` and country code required). */
  async startLogin(
    phoneNumber: string,
    options: { channel?: 'sms' | 'voice' } = {},
  ): Promise<LoginStarted> {
    const answer = await request(
      this.fetchFn,
      `${this.issuer}/v1/otp/start`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ phone_number: phoneNumber, channel: options.channel ?? 'sms' }),
      },
      this.requestTimeout,
      this.now,
    );
    const body = (answer.body ?? {}) as Record<string, unknown>;
    return {
      channel: body.channel === 'voice' ? 'voice' : 'sms',
      expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 0,
      resendAfter: typeof body.resend_after === 'number' ? body.resend_after : 0,
    };
  }

  /** Exchanges the code for a session; resolves with the new access token's claims. */
  async verifyCode(phoneNumber: string, code: string): Promise<AccessTokenClaims | null> {
    await this.ensureLoaded();
    const pair = await this.tokenRequest(
      { grant_type: 'otp', phone_number: phoneNumber, code },
      this.requestTimeout,
    );
    // Memory first: a storage that notifies its own writer then sees nothing new.
    this.refreshToken = pair.refresh_token;
    this.setAccess(pair);
    try {
      await this.storage.set(this.key, pair.refresh_token);
    } catch (error) {
      this.access = null;
      this.refreshToken = null;
      throw error;
    }
    this.currentState = 'signed_in';
    this.emit('SIGNED_IN');
    return this.claims();
  }

  /**
   * A valid access token: the one in memory, or a fresh one when it has under a minute left.
   * Concurrent calls share one refresh. Rejects with `not_signed_in`, `session_expired`, or
   * a transient error (`network_error`, `temporarily_unavailable`, `rate_limited`) that
   * leaves the session in place.
   */
  async getAccessToken(): Promise<string> {
    await this.ensureLoaded();
    const access = this.access;
    if (access !== null && this.now() < access.refreshAt) return access.token;
    return this.refresh();
  }

  /** Refreshes now, whatever the access token's age (joins a refresh already running). */
  refresh(): Promise<string> {
    if (this.inflight === null) {
      const flight = this.runRefresh();
      this.inflight = flight;
      const done = () => {
        if (this.inflight === flight) this.inflight = null;
      };
      flight.then(done, done);
    }
    return this.inflight;
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`. On a `401` it refreshes once (shared
   * with other callers) and retries once; a second `401` is returned as is. The body must be
   * sendable twice (a string, `FormData`, `Blob`…, not a stream).
   */
  async authorizedFetch(input: string, init: RequestInit = {}): Promise<Response> {
    const token = await this.getAccessToken();
    const first = await this.fetchWithToken(input, init, token);
    if (first.status !== 401) return first;
    first.body?.cancel().catch(() => {});
    const current = this.access;
    const fresh =
      current !== null && current.token !== token && this.now() < current.refreshAt
        ? current.token
        : await this.refresh();
    return this.fetchWithToken(input, init, fresh);
  }

  /**
   * Ends the session: forgets it here (and in every instance on the same storage), then
   * revokes it on the server. The local session is gone even when this rejects (offline).
   */
  async logout(): Promise<void> {
    await this.ensureLoaded().catch(() => {});
    const stored = await this.storage.get(this.key).catch(() => null);
    const token = stored ?? this.refreshToken;
    this.signOutLocally('SIGNED_OUT');
    await this.storage.delete(this.key);
    if (token === null) return;
    await request(
      this.fetchFn,
      `${this.issuer}/oauth/revoke`,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: formBody({ token, token_type_hint: 'refresh_token' }),
      },
      this.requestTimeout,
      this.now,
    );
  }

  /**
   * Call when the app comes back to the foreground (React Native `AppState` → `active`, a
   * page becoming visible): refreshes once if the access token is missing or near expiry,
   * so the app's first requests do not all meet a `401`. Never rejects: a session that ended
   * is announced through `onAuthStateChange`, and a transient failure is retried by the next
   * `getAccessToken()`.
   */
  async resume(): Promise<void> {
    try {
      await this.ensureLoaded();
      if (this.currentState !== 'signed_in') return;
      const access = this.access;
      if (access !== null && this.now() < access.refreshAt) return;
      await this.refresh();
    } catch {
      // See above: reported through events or retried later.
    }
  }

  /** Stops listening to storage changes (a client that is thrown away). */
  dispose(): void {
    this.stopWatchingStorage?.();
    this.listeners.clear();
  }

  private ensureLoaded(): Promise<void> {
    if (this.currentState !== 'loading') return Promise.resolve();
    if (this.loading === null) {
      this.loading = this.storage.get(this.key).then(
        (token) => {
          if (this.currentState !== 'loading') return;
          this.refreshToken = token;
          this.currentState = token === null ? 'signed_out' : 'signed_in';
          this.emit('INITIAL_SESSION');
        },
        (error: unknown) => {
          // A locked keychain, say: the next call tries again.
          this.loading = null;
          throw error;
        },
      );
    }
    return this.loading;
  }

  private async runRefresh(): Promise<string> {
    await this.ensureLoaded();
    for (let adoptions = 0; ; adoptions++) {
      const stored = await this.storage.get(this.key);
      if (stored === null) {
        // Signed out here or in another instance on this storage.
        this.signOutLocally('SIGNED_OUT');
        throw new NotSignedInError();
      }
      this.adopt(stored);
      let pair: TokenPair;
      try {
        pair = await this.exchange(stored);
      } catch (error) {
        if (!(error instanceof InvalidGrantError)) throw error;
        // Refused. If another instance stored a newer token meanwhile, that one is the
        // session's live token: use it rather than end the session.
        const latest = await this.storage.get(this.key);
        if (latest !== null && latest !== stored && adoptions < MAX_ADOPTIONS) continue;
        // Memory first: a storage that notifies its own writer then sees nothing new.
        this.signOutLocally('SESSION_EXPIRED');
        if (latest === stored) await this.storage.delete(this.key);
        throw new SessionExpiredError({ cause: error, status: error.status });
      }
      if (await this.keep(stored, pair)) {
        this.currentState = 'signed_in';
        this.emit('TOKEN_REFRESHED');
        return pair.access_token;
      }
      if (adoptions >= MAX_ADOPTIONS) throw new NotSignedInError();
    }
  }

  /**
   * Stores `pair`, obtained by spending `spent`, unless storage moved on meanwhile. Returns
   * false when storage now holds another session's token (try again with that one).
   */
  private async keep(spent: string, pair: TokenPair): Promise<boolean> {
    const latest = await this.storage.get(this.key);
    if (latest === null) {
      // Logged out elsewhere while we refreshed: that revoked this session too.
      this.signOutLocally('SIGNED_OUT');
      throw new NotSignedInError();
    }
    if (latest === spent || latest === pair.refresh_token) {
      this.refreshToken = pair.refresh_token;
      this.setAccess(pair);
      if (latest !== pair.refresh_token) await this.storage.set(this.key, pair.refresh_token);
      return true;
    }
    // Another instance stored a token while we refreshed. In the same session it is a
    // successor of ours (storage only moves forward): keep it, and use our access token.
    if (sessionOf(latest) === sessionOf(pair.refresh_token)) {
      this.refreshToken = latest;
      this.setAccess(pair);
      return true;
    }
    this.adopt(latest);
    return false;
  }

  /** One refresh request, sent again with the same token while its answers are lost. */
  private async exchange(refreshToken: string): Promise<TokenPair> {
    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.tokenRequest(
          { grant_type: 'refresh_token', refresh_token: refreshToken },
          this.refreshAttemptTimeout,
        );
      } catch (error) {
        const lost = error instanceof NetworkError || error instanceof TemporarilyUnavailableError;
        const delay = this.retryDelay * 2 ** (attempt - 1);
        const late = this.now() - started + delay >= this.refreshRetryWindow;
        if (!lost || attempt >= MAX_ATTEMPTS || late) throw error;
        await sleep(delay);
      }
    }
  }

  private async tokenRequest(fields: Record<string, string>, timeout: number): Promise<TokenPair> {
    const answer = await request(
      this.fetchFn,
      `${this.issuer}/oauth/token`,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: formBody(fields),
      },
      timeout,
      this.now,
    );
    return tokenPair(answer.body);
  }

  private async fetchWithToken(input: string, init: RequestInit, token: string): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${token}`);
    try {
      return await this.fetchFn(input, { ...init, headers });
    } catch (cause) {
      if (cause instanceof SesameError) throw cause;
      throw new NetworkError({ cause });
    }
  }

  private setAccess(pair: TokenPair): void {
    const lifetime = Math.max(0, pair.expires_in);
    // Under a minute left, or half the lifetime of a short-lived token (no refresh storm).
    const refreshIn = Math.max(lifetime - this.refreshMargin, lifetime / 2);
    this.access = {
      token: pair.access_token,
      refreshAt: this.now() + refreshIn * 1000,
      claims: decodeJwt<AccessTokenClaims>(pair.access_token),
    };
  }

  /** Takes `token`, stored by this or another instance, as the latest refresh token. */
  private adopt(token: string): void {
    if (token === this.refreshToken && this.currentState === 'signed_in') return;
    const sameSession = this.refreshToken !== null && sessionOf(token) === sessionOf(this.refreshToken);
    this.refreshToken = token;
    if (!sameSession) this.access = null;
    if (this.currentState !== 'signed_in' || !sameSession) {
      this.currentState = 'signed_in';
      this.emit('SIGNED_IN');
    }
  }

  private onStorageChange(value: string | null): void {
    if (this.currentState === 'loading' || value === this.refreshToken) return;
    if (value === null) this.signOutLocally('SIGNED_OUT');
    else this.adopt(value);
  }

  private signOutLocally(event: 'SIGNED_OUT' | 'SESSION_EXPIRED'): void {
    const wasSignedIn = this.currentState === 'signed_in';
    this.access = null;
    this.refreshToken = null;
    this.currentState = 'signed_out';
    if (wasSignedIn) this.emit(event);
  }

  private emit(event: AuthEvent): void {
    const snapshot: AuthSnapshot = { state: this.currentState, claims: this.claims() };
    for (const listener of [...this.listeners]) {
      try {
        listener(event, snapshot);
      } catch (error) {
        // A listener's bug must not break the client, nor go unnoticed.
        console.error('@sesame/client: an onAuthStateChange listener threw', error);
      }
    }
  }
}
