import { RequestError } from '@octokit/request-error';
import { RelayError } from '../errors.js';

/**
 * Is this answer GitHub's rate limit? Primary limit: 403/429 with `x-ratelimit-remaining: 0`;
 * secondary limit: 403/429 whose message says "secondary rate limit" (or a bare 429).
 */
export function isRateLimitAnswer(status: number, headers: Record<string, string | number | undefined>, message: string): boolean {
  if (status !== 403 && status !== 429) return false;
  return status === 429 || String(headers['x-ratelimit-remaining'] ?? '') === '0' || /\brate limit\b/i.test(message);
}

function resetHint(headers: Record<string, string | number | undefined>): string {
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return `retry after ${retryAfter} s`;
  const reset = Number(headers['x-ratelimit-reset']);
  // GitHub sends epoch seconds; anything else (recorded fixtures normalise it) is not worth quoting.
  if (Number.isFinite(reset) && reset > 1e9 && reset < 1e11) return `the limit resets at ${new Date(reset * 1000).toISOString()}`;
  return 'retry later';
}

/**
 * Wraps an octokit failure once, at the boundary, into a coded RelayError. `what` names the
 * request in words ("download github:acme/deploy@main"). Token values never reach the message.
 */
export function githubError(err: unknown, what: string): RelayError {
  if (err instanceof RelayError) return err;
  if (err instanceof RequestError) {
    const headers = (err.response?.headers ?? {}) as Record<string, string | number | undefined>;
    const data = err.response?.data as { message?: unknown } | undefined;
    const said = typeof data?.message === 'string' ? data.message : err.message;
    if (err.status === 401) {
      return new RelayError('GITHUB_UNAUTHORIZED', `${what}: GitHub answered 401 (${said}); set a valid token in the token environment variable (GITHUB_TOKEN unless configured otherwise)`, { cause: err });
    }
    if (isRateLimitAnswer(err.status, headers, said)) {
      return new RelayError('GITHUB_RATE_LIMITED', `${what}: GitHub rate limit reached (${err.status}: ${said}); ${resetHint(headers)}, or use a token with a higher limit`, { cause: err });
    }
    if (err.status === 404) {
      return new RelayError('GITHUB_NOT_FOUND', `${what}: GitHub answered 404 (${said}); check the owner, repository, ref and path, and that the token can read a private repository`, { cause: err });
    }
    if (err.status === 403) {
      return new RelayError('GITHUB_UNAUTHORIZED', `${what}: GitHub answered 403 (${said}); the token lacks the permission this needs`, { cause: err });
    }
    return new RelayError('GITHUB_FAILED', `${what}: GitHub answered ${err.status} (${said})`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new RelayError('GITHUB_FAILED', `${what}: ${message}`, { cause: err });
}
