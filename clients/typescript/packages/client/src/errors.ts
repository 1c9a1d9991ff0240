/**
 * Errors as classes with a stable `code`: the codes of Sesame's HTTP API
 * (`{"error", "error_description"}` bodies), plus three of the client's own:
 * `session_expired`, `not_signed_in` and `network_error`.
 *
 * `message` is a sentence an app can show as is; `description` is the server's
 * `error_description` (for logs, not for users).
 */

/** Every code this package knows. Unknown codes from a newer server keep their own string. */
export type SesameErrorCode =
  | 'invalid_request'
  | 'invalid_phone_number'
  | 'country_not_allowed'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'rate_limited'
  | 'delivery_failed'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'session_expired'
  | 'not_signed_in'
  | 'network_error';

/** The message shown for each code; apps that translate can key their own table on `code`. */
export const errorMessages: Readonly<Record<SesameErrorCode, string>> = {
  invalid_request: 'The app sent a request the server did not understand. Please update the app.',
  invalid_phone_number:
    'That does not look like a valid phone number. Include the country code, for example +44 7700 900123.',
  country_not_allowed: 'Phone numbers from this country cannot be used to sign in.',
  invalid_grant: 'That code is wrong or has expired. Check it, or ask for a new one.',
  unsupported_grant_type: 'The app sent a request the server does not support. Please update the app.',
  rate_limited: 'Too many attempts. Please wait a moment and try again.',
  delivery_failed: 'The code could not be sent. Please try again in a moment.',
  temporarily_unavailable: 'The sign-in service is temporarily unavailable. Please try again shortly.',
  server_error: 'Something went wrong on our side. Please try again.',
  session_expired: 'Your session has ended. Please sign in again.',
  not_signed_in: 'You are not signed in.',
  network_error: 'The server cannot be reached. Check your connection and try again.',
};

export interface SesameErrorOptions {
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** The server's `error_description`. */
  description?: string;
  /** The error behind this one (a fetch failure, the `invalid_grant` behind `session_expired`). */
  cause?: unknown;
  /** Overrides the standard message. */
  message?: string;
}

export class SesameError extends Error {
  /** Stable, machine-readable: one of {@link SesameErrorCode}, or a code this version does not know. */
  readonly code: SesameErrorCode | (string & {});
  readonly status: number | undefined;
  readonly description: string | undefined;

  constructor(code: SesameErrorCode | (string & {}), options: SesameErrorOptions = {}) {
    const known = (errorMessages as Record<string, string>)[code];
    super(options.message ?? known ?? `Something went wrong (${code}). Please try again.`);
    this.name = new.target.name;
    this.code = code;
    this.status = options.status;
    this.description = options.description;
    if (options.cause !== undefined) {
      // Assigned rather than passed to `super`: not every JavaScript engine takes the option.
      (this as { cause?: unknown }).cause = options.cause;
    }
  }
}

/** A class per code: its `code` is the static `code` of the class that was constructed. */
abstract class CodedError extends SesameError {
  static readonly code: SesameErrorCode;

  constructor(options?: SesameErrorOptions) {
    super((new.target as unknown as { code: SesameErrorCode }).code, options);
  }
}

export class InvalidRequestError extends CodedError {
  static override readonly code = 'invalid_request';
}

export class InvalidPhoneNumberError extends CodedError {
  static override readonly code = 'invalid_phone_number';
}

export class CountryNotAllowedError extends CodedError {
  static override readonly code = 'country_not_allowed';
}

/** A wrong, expired or already used code. (A refresh token refused is {@link SessionExpiredError}.) */
export class InvalidGrantError extends CodedError {
  static override readonly code = 'invalid_grant';
}

export class UnsupportedGrantTypeError extends CodedError {
  static override readonly code = 'unsupported_grant_type';
}

/** Too many requests: `retryAfter` is the server's `Retry-After`, in seconds. */
export class RateLimitedError extends SesameError {
  readonly retryAfter: number;

  constructor(retryAfter: number, options: SesameErrorOptions = {}) {
    const wait = retryAfter === 1 ? '1 second' : `${retryAfter} seconds`;
    super('rate_limited', {
      message:
        retryAfter > 0 ? `Too many attempts. Please wait ${wait} and try again.` : undefined,
      ...options,
    });
    this.retryAfter = retryAfter;
  }
}

export class DeliveryFailedError extends CodedError {
  static override readonly code = 'delivery_failed';
}

export class TemporarilyUnavailableError extends CodedError {
  static override readonly code = 'temporarily_unavailable';
}

export class ServerError extends CodedError {
  static override readonly code = 'server_error';
}

/**
 * The session can no longer be refreshed: it was revoked (logout elsewhere, an admin), it
 * expired, or its refresh token was refused. The stored refresh token has been deleted.
 */
export class SessionExpiredError extends CodedError {
  static override readonly code = 'session_expired';
}

/** No session: never signed in, or signed out. */
export class NotSignedInError extends CodedError {
  static override readonly code = 'not_signed_in';
}

/** No answer: offline, connection lost, DNS failure, or the request timed out. */
export class NetworkError extends CodedError {
  static override readonly code = 'network_error';
}

/** The class of each code the server sends (`rate_limited` is built apart: it has `retryAfter`). */
const SERVER_ERRORS: Record<string, new (options?: SesameErrorOptions) => SesameError> = {
  invalid_request: InvalidRequestError,
  invalid_phone_number: InvalidPhoneNumberError,
  country_not_allowed: CountryNotAllowedError,
  invalid_grant: InvalidGrantError,
  unsupported_grant_type: UnsupportedGrantTypeError,
  delivery_failed: DeliveryFailedError,
  temporarily_unavailable: TemporarilyUnavailableError,
  server_error: ServerError,
};

/** Parses `Retry-After` (seconds; an HTTP date is also allowed by RFC 9110). */
function retryAfterSeconds(header: string | null, now: number): number {
  if (header === null) return 0;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, Math.ceil((date - now) / 1000));
}

/** The code for an answer whose body is not a Sesame error (a proxy's HTML page, say). */
function codeForStatus(status: number): SesameErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 502) return 'delivery_failed';
  if (status === 503 || status === 504) return 'temporarily_unavailable';
  if (status >= 500) return 'server_error';
  return 'invalid_request';
}

/** The typed error for an error answer of Sesame's API. */
export function errorFromResponse(
  status: number,
  body: unknown,
  retryAfter: string | null,
  now: number = Date.now(),
): SesameError {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof fields.error === 'string' ? fields.error : codeForStatus(status);
  const options: SesameErrorOptions = {
    status,
    description:
      typeof fields.error_description === 'string' ? fields.error_description : undefined,
  };
  if (code === 'rate_limited') return new RateLimitedError(retryAfterSeconds(retryAfter, now), options);
  const known = Object.prototype.hasOwnProperty.call(SERVER_ERRORS, code) ? SERVER_ERRORS[code] : undefined;
  return known ? new known(options) : new SesameError(code, options);
}
