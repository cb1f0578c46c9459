import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import { PRODUCER_NAME, PRODUCER_VERSION } from '../version.js';

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

export interface GitHubClientOptions {
  /** Token (classic, fine-grained or an installation token); undefined = unauthenticated (public repositories, low limits). */
  token?: string;
  /** REST base URL. Default: https://api.github.com (GitHub Enterprise: https://HOST/api/v3). */
  baseUrl?: string;
  /** Retries of 5xx and network failures (plugin-retry). Default: 3. */
  retries?: number;
  /** A rate-limited request is retried once when the limit resets within this many seconds. Default: 60. */
  maxRateLimitWaitSeconds?: number;
  /** Multiplier for plugin waits in ms per second (tests shorten it). Default: 1000. */
  retryAfterBaseMs?: number;
  /** Minimum spacing of write requests (GitHub asks for one second; tests shorten it). Default: 1000. */
  writeSpacingMs?: number;
  /** Warnings from octokit and its plugins; default: dropped (the caller reports coded errors instead). */
  warn?: (message: string) => void;
}

const GitHubOctokit = Octokit.plugin(retry, throttling);
export type GitHubClient = InstanceType<typeof GitHubOctokit>;

/**
 * An octokit with GitHub's recommended pacing (plugin-throttling: writes serialised one second
 * apart, rate limits honoured) and retries of transient failures (plugin-retry). A rate limit that
 * resets later than `maxRateLimitWaitSeconds` is not waited for: the request fails and
 * `githubError` turns it into GITHUB_RATE_LIMITED.
 */
export function createGitHubClient(opts: GitHubClientOptions = {}): GitHubClient {
  const maxWait = opts.maxRateLimitWaitSeconds ?? 60;
  const retryAfterBaseValue = opts.retryAfterBaseMs ?? 1000;
  const warn = opts.warn ?? (() => undefined);
  const once = (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) => retryCount === 0 && retryAfter <= maxWait;
  return new GitHubOctokit({
    ...(opts.token ? { auth: opts.token } : {}),
    baseUrl: (opts.baseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, ''),
    userAgent: `${PRODUCER_NAME}/${PRODUCER_VERSION}`,
    log: { debug: () => undefined, info: () => undefined, warn, error: warn },
    retry: { retries: opts.retries ?? 3, retryAfterBaseValue },
    throttle: {
      onRateLimit: once,
      onSecondaryRateLimit: once,
      retryAfterBaseValue,
      ...(opts.writeSpacingMs !== undefined ? { write: new Bottleneck.Group({ maxConcurrent: 1, minTime: opts.writeSpacingMs }) } : {}),
    },
  });
}
