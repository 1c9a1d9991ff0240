/**
 * One request to Sesame: `fetch` with a deadline (`AbortController` + `setTimeout`), the
 * whole body read under that deadline, and failures turned into typed errors.
 */
import { NetworkError, errorFromResponse } from './errors.js';

/** `fetch`'s shape; pass your own to add headers, logging, or a fake in tests. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** `application/x-www-form-urlencoded`, without `URLSearchParams` (incomplete in React Native). */
export function formBody(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

export interface Answer {
  status: number;
  body: unknown;
}

/**
 * Sends the request and reads its JSON body. Rejects with {@link NetworkError} when no
 * complete answer arrives in `timeout` ms (the request may still have reached the server),
 * and with the typed error of the answer when its status is not 2xx.
 */
export async function request(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeout: number,
  now: () => number,
): Promise<Answer> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(url, { ...init, signal: controller.signal });
    text = await response.text();
  } catch (cause) {
    throw new NetworkError({
      cause,
      description: controller.signal.aborted ? `no answer within ${timeout} ms` : undefined,
    });
  } finally {
    clearTimeout(timer);
  }
  let body: unknown = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (response.status < 200 || response.status > 299) {
    throw errorFromResponse(response.status, body, response.headers.get('Retry-After'), now());
  }
  return { status: response.status, body };
}
