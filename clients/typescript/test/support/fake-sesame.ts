// An in-memory stand-in for Sesame's token endpoints, for unit tests of the client's own
// logic (single flight, retries, storage). It follows the server's rules: a refresh token is
// spent once; a spent token presented again inside the grace window gets the very same
// successor pair, and after it revokes the session.
import type { FetchLike } from '@sesame/client';

export interface Pair {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
}

export interface Recorded {
  path: string;
  method: string;
  contentType: string | null;
  authorization: string | null;
  body: Record<string, string>;
}

interface RefreshRow {
  sid: string;
  spentAt?: number;
  successor?: Pair;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function jwt(claims: Record<string, unknown>): string {
  return `${b64url({ alg: 'EdDSA', typ: 'at+jwt' })}.${b64url(claims)}.c2lnbmF0dXJl`;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export class FakeSesame {
  readonly requests: Recorded[] = [];
  accessTtl = 900;
  graceSeconds = 10;
  /** Answers of refresh requests to process and then lose (the fetch rejects). */
  loseRefreshAnswers = 0;
  /** When set, every request fails before reaching the server. */
  offline = false;
  /** Overrides the answer to a request (for error mapping). */
  override: ((request: Recorded) => Response | undefined) | undefined;
  private serial = 0;
  private readonly refreshTokens = new Map<string, RefreshRow>();
  private readonly revoked = new Set<string>();

  constructor(readonly now: () => number) {}

  get refreshRequests(): Recorded[] {
    return this.requests.filter((r) => r.path === '/oauth/token' && r.body.grant_type === 'refresh_token');
  }

  /** A new session's first pair, as a code exchange returns it. */
  login(phone = '+447700900123'): Pair {
    return this.issue(`sid-${++this.serial}`, phone);
  }

  revokeSession(sid: string): void {
    this.revoked.add(sid);
  }

  sidOf(refreshToken: string): string | undefined {
    return this.refreshTokens.get(refreshToken)?.sid;
  }

  private issue(sid: string, phone = '+447700900123'): Pair {
    const n = ++this.serial;
    const seconds = Math.floor(this.now() / 1000);
    const access_token = jwt({
      iss: 'https://sesame.test',
      aud: 'sesame',
      sub: 'identity-1',
      sid,
      jti: `at-${n}`,
      iat: seconds,
      nbf: seconds,
      exp: seconds + this.accessTtl,
      client_id: 'sesame-mobile',
      phone_number: phone,
      kind: 'anonymous',
      permissions: {},
    });
    const refresh_token = jwt({ sid, jti: `rt-${n}`, typ: 'refresh' });
    this.refreshTokens.set(refresh_token, { sid });
    return {
      access_token,
      token_type: 'Bearer',
      expires_in: this.accessTtl,
      refresh_token,
      refresh_token_expires_in: 2_592_000,
    };
  }

  private refresh(token: string | undefined): Response {
    const row = token === undefined ? undefined : this.refreshTokens.get(token);
    const refused = json(400, { error: 'invalid_grant', error_description: 'refused' });
    if (!row || this.revoked.has(row.sid)) return refused;
    if (row.spentAt === undefined) {
      row.spentAt = this.now();
      row.successor = this.issue(row.sid);
      return json(200, row.successor, { 'cache-control': 'no-store' });
    }
    if (this.now() - row.spentAt <= this.graceSeconds * 1000 && row.successor) {
      return json(200, row.successor);
    }
    this.revoked.add(row.sid);
    return refused;
  }

  private liveAccess(authorization: string | null): boolean {
    const token = authorization?.replace(/^Bearer /, '');
    if (!token) return false;
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    return !this.revoked.has(claims.sid) && claims.exp * 1000 > this.now();
  }

  private answer(request: Recorded): Response {
    const overridden = this.override?.(request);
    if (overridden) return overridden;
    switch (request.path) {
      case '/v1/otp/start':
        return json(202, { channel: request.body.channel ?? 'sms', expires_in: 180, resend_after: 30 });
      case '/oauth/token':
        if (request.body.grant_type === 'otp') {
          return request.body.code === '424242'
            ? json(200, this.login(request.body.phone_number))
            : json(400, { error: 'invalid_grant', error_description: 'refused' });
        }
        return this.refresh(request.body.refresh_token);
      case '/oauth/revoke': {
        const sid = this.sidOf(request.body.token ?? '');
        if (sid) this.revoked.add(sid);
        return json(200, {});
      }
      default:
        return this.liveAccess(request.authorization)
          ? json(200, { ok: true })
          : json(401, { error: 'invalid_token', error_description: 'expired' }, {
              'www-authenticate': 'Bearer error="invalid_token"',
            });
    }
  }

  readonly fetch: FetchLike = async (input, init = {}) => {
    if (this.offline) throw new TypeError('fetch failed');
    const url = new URL(input);
    const headers = new Headers(init.headers);
    const contentType = headers.get('content-type');
    const text = typeof init.body === 'string' ? init.body : '';
    const body: Record<string, string> =
      contentType === 'application/json'
        ? JSON.parse(text)
        : Object.fromEntries(new URLSearchParams(text));
    const request: Recorded = {
      path: url.pathname,
      method: init.method ?? 'GET',
      contentType,
      authorization: headers.get('authorization'),
      body,
    };
    this.requests.push(request);
    // An answer on the next turn of the event loop, as over a network.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const response = this.answer(request);
    if (request.body.grant_type === 'refresh_token' && this.loseRefreshAnswers > 0) {
      this.loseRefreshAnswers--;
      throw new TypeError('fetch failed: connection reset');
    }
    return response;
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000) {
  let time = start;
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
    },
  };
}
