/**
 * GitHub through octokit (design §7): manifests from a repository at a commit (`bundle create
 * --from github:OWNER/REPO@REF[:PATH]`) and DR promotions reported on the promoted commit as commit
 * statuses and, optionally, deployments. IO shell: octokit with plugin-retry and plugin-throttling.
 *
 * - `createGitHubClient({token, baseUrl})` → the octokit every call here takes
 * - `fetchGitHubManifests(client, parseGitHubSource(from))` → `{ commit, objects, files }`
 * - `reportPromotion(client, cfg, promotionResult, commit)` → per-target reports, never throws
 * - `githubError(err, what)` → GITHUB_UNAUTHORIZED | GITHUB_NOT_FOUND | GITHUB_RATE_LIMITED | GITHUB_FAILED
 */
export { createGitHubClient, DEFAULT_GITHUB_API_URL, type GitHubClient, type GitHubClientOptions } from './client.js';
export { githubError, isRateLimitAnswer } from './errors.js';
export { readArchiveManifests, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits, type ArchiveManifests } from './archive.js';
export { fetchGitHubManifests, type GitHubManifests } from './source.js';
export { formatGitHubSource, isGitHubSource, parseGitHubSource, parseRepoName, FULL_SHA, GITHUB_SOURCE_PREFIX, type GitHubSourceRef } from './repo-ref.js';
export {
  commitStatusState,
  deploymentStatusState,
  environmentName,
  reportPromotion,
  statusContext,
  statusDescription,
  STATUS_CONTEXT_PREFIX,
  type CommitStatusState,
  type DeploymentStatusState,
  type PromotionReportConfig,
  type TargetReport,
} from './report.js';
export { composeObservers, GitHubPromotionReporter, type GitHubReportingSettings, type PromotionReport } from './promotion-reporter.js';
