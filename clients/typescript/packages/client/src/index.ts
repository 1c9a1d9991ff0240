/**
 * `@sesame/client`: phone-number login against a Sesame server, for React Native, browsers
 * and Node 18+. No runtime dependencies; the core uses only `fetch`, `AbortController` and
 * timers. Browser-only helpers (`localStorageAdapter`, `resumeWhenVisible`) check for the
 * browser before touching it.
 */
export {
  SesameClient,
  type AuthEvent,
  type AuthListener,
  type AuthSnapshot,
  type AuthState,
  type LoginStarted,
  type SesameClientOptions,
} from './client.js';
export {
  CountryNotAllowedError,
  DeliveryFailedError,
  InvalidGrantError,
  InvalidPhoneNumberError,
  InvalidRequestError,
  NetworkError,
  NotSignedInError,
  RateLimitedError,
  ServerError,
  SesameError,
  SessionExpiredError,
  TemporarilyUnavailableError,
  UnsupportedGrantTypeError,
  errorFromResponse,
  errorMessages,
  type SesameErrorCode,
  type SesameErrorOptions,
} from './errors.js';
export type { FetchLike } from './http.js';
export { base64UrlDecode, decodeJwt, type AccessTokenClaims } from './jwt.js';
export { memoryStorage, type StorageAdapter } from './storage.js';
export { localStorageAdapter, resumeWhenVisible } from './web.js';
