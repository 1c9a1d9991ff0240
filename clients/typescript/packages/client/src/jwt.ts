/**
 * Reading a JWT's claims without `atob`, `Buffer` or `TextDecoder` (React Native has none of
 * them reliably). Nothing here verifies a signature: the claims are for display and for
 * scheduling refreshes. An API that receives the token must verify it (JWKS).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES: Record<string, number> = {};
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charAt(i)] = i;
// Plain base64's two characters are accepted too.
VALUES['+'] = 62;
VALUES['/'] = 63;

/** Decodes base64url (RFC 4648 §5), with or without `=` padding. */
export function base64UrlDecode(input: string): Uint8Array {
  const text = input.replace(/=+$/, '');
  if (text.length % 4 === 1) throw new Error('invalid base64url: wrong length');
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const value = VALUES[text.charAt(i)];
    if (value === undefined) throw new Error('invalid base64url: unexpected character');
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[length++] = (buffer >> bits) & 0xff;
    }
  }
  return bytes.subarray(0, length);
}

/** Decodes UTF-8; malformed sequences become U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const first = bytes[i++] as number;
    let codePoint = 0xfffd;
    let extra = 0;
    if (first < 0x80) {
      codePoint = first;
    } else if (first >= 0xc2 && first < 0xe0) {
      codePoint = first & 0x1f;
      extra = 1;
    } else if (first >= 0xe0 && first < 0xf0) {
      codePoint = first & 0x0f;
      extra = 2;
    } else if (first >= 0xf0 && first < 0xf5) {
      codePoint = first & 0x07;
      extra = 3;
    }
    for (let k = 0; k < extra; k++) {
      const next = bytes[i];
      if (next === undefined || (next & 0xc0) !== 0x80) {
        codePoint = 0xfffd;
        break;
      }
      codePoint = (codePoint << 6) | (next & 0x3f);
      i++;
    }
    const overlong =
      (extra === 2 && codePoint < 0x800) || (extra === 3 && (codePoint < 0x10000 || codePoint > 0x10ffff));
    const surrogate = codePoint >= 0xd800 && codePoint <= 0xdfff;
    text += String.fromCodePoint(overlong || surrogate ? 0xfffd : codePoint);
  }
  return text;
}

/**
 * The claims of a JWT, decoded but NOT verified; `null` when `token` is not a JWT with a
 * JSON object as payload.
 */
export function decodeJwt<T = Record<string, unknown>>(token: string): T | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload: unknown = JSON.parse(utf8Decode(base64UrlDecode(parts[1] as string)));
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload)
      ? (payload as T)
      : null;
  } catch {
    return null;
  }
}

/** The claims of a Sesame access token (see the repository's docs/contract-notes.md). */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  /** The phone identity's id. */
  sub: string;
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  /** Session id: every token of one login shares it. */
  sid: string;
  client_id: string;
  phone_number: string;
  kind: 'employee' | 'anonymous';
  /** `{"employee": ["full"]}` for an active employee, `{}` otherwise. */
  permissions: Record<string, string[]>;
  /** The employee's id (employees only). */
  user_id?: string;
  [claim: string]: unknown;
}
