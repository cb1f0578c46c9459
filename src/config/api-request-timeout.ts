/** client-go's default request timeout; also the transport's default (DEFAULT_TRANSPORT_TIMEOUTS). */
export const DEFAULT_API_REQUEST_TIMEOUT_MS = 60_000;

/**
 * The shortest request timeout accepted (timeouts.apiRequest, --api-request-timeout): below 1 s an
 * ordinary request to a busy API server (a large list, a first TLS handshake across regions) would
 * be cancelled as if the server were unreachable.
 */
export const MIN_API_REQUEST_TIMEOUT_MS = 1000;

/**
 * What is wrong with a request timeout of `ms`, or undefined. With a promotion timeout it must not be
 * longer: a single request allowed to outlive the whole promotion bounds nothing the promotion's own
 * deadline does not already bound.
 */
export function apiRequestTimeoutProblem(ms: number, given: string, promotion?: { ms: number; given: string }): string | undefined {
  if (ms < MIN_API_REQUEST_TIMEOUT_MS) return `${given} is below the ${MIN_API_REQUEST_TIMEOUT_MS / 1000} s minimum; a busy API server's ordinary answers would be cancelled as if it were down`;
  if (promotion && ms > promotion.ms) return `${given} is longer than timeouts.promotion (${promotion.given}); give at most the promotion timeout`;
  return undefined;
}
