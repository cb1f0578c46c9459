import { DEFAULT_GITHUB_API_URL } from '../github/client.js';
import type { GitHubReportingSettings } from '../github/promotion-reporter.js';

/** Where GitHub access comes from in the environment (the only place rollout-relay reads it). */
export interface GitHubEnv {
  /** The token, or undefined when the variable is unset or empty (unauthenticated: public repositories only). */
  token?: string;
  /** `GITHUB_API_URL` (set by GitHub Actions and GitHub Enterprise runners), else https://api.github.com. */
  baseUrl: string;
}

/** Reads the token from `tokenEnv` (default GITHUB_TOKEN) and the API base URL from GITHUB_API_URL. */
export function githubEnv(tokenEnv = 'GITHUB_TOKEN', env: NodeJS.ProcessEnv = process.env): GitHubEnv {
  const token = env[tokenEnv]?.trim();
  const baseUrl = env.GITHUB_API_URL?.trim() || DEFAULT_GITHUB_API_URL;
  return { ...(token ? { token } : {}), baseUrl };
}

/** The RelayConfig's `github:` block resolved against the environment (token, API URL). */
export function githubReportingSettings(github: { repo: string; tokenEnv: string; deployments: boolean }, env: NodeJS.ProcessEnv = process.env): GitHubReportingSettings {
  const { token, baseUrl } = githubEnv(github.tokenEnv, env);
  return { repo: github.repo, tokenEnv: github.tokenEnv, deployments: github.deployments, baseUrl, ...(token ? { token } : {}) };
}
