import type { RelayErrorCode } from '../errors.js';
import type { PromotionResult, TargetOutcome } from '../promote/types.js';
import type { HotUpdateState } from '../status/model.js';
import type { GitHubClient } from './client.js';
import { githubError } from './errors.js';
import { FULL_SHA } from './repo-ref.js';

/** Where and how promotions are reported (the `github:` block of the RelayConfig, design §9). */
export interface PromotionReportConfig {
  owner: string;
  repo: string;
  /** Also create a deployment + deployment status per target (environment `dr-<target>`). Default: false. */
  deployments: boolean;
  /** Link shown next to each status (e.g. the pipeline or the controller's read API). Default: none. */
  targetUrl?: string;
}

export type CommitStatusState = 'pending' | 'success' | 'failure' | 'error';
export type DeploymentStatusState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

/** What reporting did per target. Reporting never throws: a failure is recorded here with its code. */
export interface TargetReport {
  target: string;
  context: string;
  state: CommitStatusState;
  /** Set when the commit status was written. */
  statusId?: number;
  /** Set when a deployment (and its status) was written. */
  deploymentId?: number;
  deploymentStatusId?: number;
  /** Set when any GitHub write for this target failed. */
  code?: RelayErrorCode;
  message?: string;
}

export const STATUS_CONTEXT_PREFIX = 'rollout-relay/dr-';
/** GitHub refuses descriptions longer than 140 characters. */
const MAX_DESCRIPTION = 140;

export function statusContext(target: string): string {
  return `${STATUS_CONTEXT_PREFIX}${target}`;
}

export function environmentName(target: string): string {
  return `dr-${target}`;
}

/** hot_update_status → commit status: done ones succeed or fail, a paused target is an error, the rest are pending. */
export function commitStatusState(state: HotUpdateState): CommitStatusState {
  switch (state) {
    case 'completed':
      return 'success';
    case 'failed':
    case 'rolled-back':
      return 'failure';
    case 'paused':
      return 'error';
    default:
      return 'pending';
  }
}

export function deploymentStatusState(state: HotUpdateState): DeploymentStatusState {
  switch (state) {
    case 'completed':
      return 'success';
    case 'failed':
    case 'rolled-back':
      return 'failure';
    case 'paused':
      return 'error';
    case 'pending':
      return 'queued';
    default:
      return 'in_progress';
  }
}

/** "completed sha256:1a2b3c4d5e6f in 42.1 s" (+ the code when it did not complete), at most 140 characters. */
export function statusDescription(result: PromotionResult, outcome: TargetOutcome): string {
  const digest = result.bundleDigest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1');
  const text = `${outcome.state} ${digest} in ${outcome.seconds.toFixed(1)} s${outcome.code ? ` (${outcome.code})` : ''}`;
  return text.length <= MAX_DESCRIPTION ? text : `${text.slice(0, MAX_DESCRIPTION - 1)}…`;
}

/**
 * Reports a promotion on the promoted commit: per target a commit status (context
 * `rollout-relay/dr-<target>`) and, when configured, a deployment to environment `dr-<target>`
 * with a deployment status. Each target is reported on its own; GitHub failures are returned
 * coded per target and never thrown, so reporting cannot fail a promotion.
 */
export async function reportPromotion(client: GitHubClient, cfg: PromotionReportConfig, result: PromotionResult, commit: string): Promise<TargetReport[]> {
  const reports: TargetReport[] = [];
  for (const outcome of result.targets) {
    const report: TargetReport = { target: outcome.target, context: statusContext(outcome.target), state: commitStatusState(outcome.state) };
    reports.push(report);
    if (!FULL_SHA.test(commit)) {
      report.code = 'GITHUB_FAILED';
      report.message = `commit ${JSON.stringify(commit.slice(0, 60))} is not a full SHA; nothing reported`;
      continue;
    }
    const description = statusDescription(result, outcome);
    let step = `set status ${report.context} on ${cfg.owner}/${cfg.repo}@${commit.slice(0, 12)}`;
    try {
      const status = await client.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        owner: cfg.owner,
        repo: cfg.repo,
        sha: commit,
        state: report.state,
        context: report.context,
        description,
        ...(cfg.targetUrl ? { target_url: cfg.targetUrl } : {}),
      });
      report.statusId = Number(status.data.id);
      if (!cfg.deployments) continue;
      step = `create deployment ${environmentName(outcome.target)} on ${cfg.owner}/${cfg.repo}@${commit.slice(0, 12)}`;
      const deployment = await client.request('POST /repos/{owner}/{repo}/deployments', {
        owner: cfg.owner,
        repo: cfg.repo,
        ref: commit,
        task: 'deploy:dr',
        environment: environmentName(outcome.target),
        description: `rollout-relay ${result.application} sequence ${result.sequence}`.slice(0, MAX_DESCRIPTION),
        // The DR copy was already applied from a verified bundle: no merge, no waiting on status checks
        // (our own statuses are among them).
        auto_merge: false,
        required_contexts: [],
        payload: { application: result.application, bundleDigest: result.bundleDigest, sequence: result.sequence, revision: result.revision },
        production_environment: false,
      });
      if (deployment.status !== 201 || !('id' in deployment.data)) {
        throw new Error(`GitHub answered ${deployment.status} without a deployment (${JSON.stringify(deployment.data).slice(0, 200)})`);
      }
      report.deploymentId = Number(deployment.data.id);
      step = `set deployment status of ${environmentName(outcome.target)} (deployment ${deployment.data.id})`;
      const dstatus = await client.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
        owner: cfg.owner,
        repo: cfg.repo,
        deployment_id: Number(deployment.data.id),
        state: deploymentStatusState(outcome.state),
        description,
        environment: environmentName(outcome.target),
        ...(cfg.targetUrl ? { log_url: cfg.targetUrl } : {}),
        auto_inactive: true,
      });
      report.deploymentStatusId = Number(dstatus.data.id);
    } catch (err) {
      const coded = githubError(err, step);
      report.code = coded.code;
      report.message = coded.message;
    }
  }
  return reports;
}
