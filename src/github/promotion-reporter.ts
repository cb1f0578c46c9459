import type { PromotionObserver, Logger } from '../promote/deps.js';
import type { PromotionResult } from '../promote/types.js';
import { createGitHubClient, type GitHubClientOptions } from './client.js';
import { reportPromotion, type PromotionReportConfig, type TargetReport } from './report.js';
import { parseRepoName } from './repo-ref.js';

/** The `github:` block of the RelayConfig (design §9) plus what the environment gave. */
export interface GitHubReportingSettings {
  /** OWNER/REPO the promoted commits live in. */
  repo: string;
  deployments: boolean;
  /** Name of the variable the token came from (for messages). */
  tokenEnv: string;
  token?: string;
  baseUrl: string;
  targetUrl?: string;
}

export interface PromotionReport {
  application: string;
  commit?: string;
  /** Why nothing was reported (no commit, superseded, no token). */
  skipped?: string;
  targets: TargetReport[];
}

/**
 * Reports every finished promotion to GitHub through the Promoter's observer hook. The
 * observer only starts the requests (observers must not block or throw); `flush()` waits for
 * them, so a one-shot `promote` can print the outcome before it exits. GitHub failures are
 * logged with their code and kept in the reports: they never fail a promotion.
 */
export class GitHubPromotionReporter {
  /** Reports still running (a long-lived controller must not keep finished ones). */
  private readonly pending = new Set<Promise<PromotionReport>>();
  private finished: PromotionReport[] = [];
  private readonly cfg: PromotionReportConfig;

  constructor(
    private readonly settings: GitHubReportingSettings,
    private readonly log: Logger,
    private readonly clientOptions: Omit<GitHubClientOptions, 'token' | 'baseUrl'> = {},
  ) {
    const { owner, repo } = parseRepoName(settings.repo, 'github.repo');
    this.cfg = { owner, repo, deployments: settings.deployments, ...(settings.targetUrl ? { targetUrl: settings.targetUrl } : {}) };
  }

  observer(): PromotionObserver {
    return {
      onPromotion: (result) => {
        const p = this.report(result).then((r) => {
          this.pending.delete(p);
          if (this.keepFinished) this.finished.push(r);
          return r;
        });
        this.pending.add(p);
      },
    };
  }

  /** Whether finished reports are kept for flush() (a one-shot command); a controller turns this off. Default: true. */
  keepFinished = true;

  /** Waits for every report started so far and returns the finished ones (in finishing order) since the last flush. */
  async flush(): Promise<PromotionReport[]> {
    await Promise.all([...this.pending]);
    const out = this.finished;
    this.finished = [];
    return out;
  }

  async report(result: PromotionResult): Promise<PromotionReport> {
    const base = { application: result.application, ...(result.commit ? { commit: result.commit } : {}) };
    const skip = (why: string): PromotionReport => {
      this.log.info({ application: result.application, reason: why }, 'github report skipped');
      return { ...base, skipped: why, targets: [] };
    };
    if (result.superseded || result.targets.length === 0) return skip('nothing was promoted');
    if (!result.commit) return skip('the bundle records no source commit (Argo CD sync revision or github: source)');
    if (!this.settings.token) {
      this.log.warn({ application: result.application, code: 'GITHUB_UNAUTHORIZED', tokenEnv: this.settings.tokenEnv }, 'github report skipped: token variable is empty');
      return { ...base, skipped: `GITHUB_UNAUTHORIZED: ${this.settings.tokenEnv} is empty`, targets: [] };
    }
    try {
      const client = createGitHubClient({ ...this.clientOptions, token: this.settings.token, baseUrl: this.settings.baseUrl });
      const targets = await reportPromotion(client, this.cfg, result, result.commit);
      for (const t of targets) {
        const fields = { application: result.application, target: t.target, context: t.context, state: t.state, commit: result.commit };
        if (t.code) this.log.warn({ ...fields, code: t.code, err: t.message }, 'github report failed');
        else this.log.info({ ...fields, statusId: t.statusId, deploymentId: t.deploymentId }, 'github status reported');
      }
      return { ...base, targets };
    } catch (err) {
      // reportPromotion does not throw; this guards the observer contract against the unexpected.
      this.log.warn({ application: result.application, code: 'GITHUB_FAILED', err: err instanceof Error ? err.message : String(err) }, 'github report failed');
      return { ...base, skipped: `GITHUB_FAILED: ${err instanceof Error ? err.message : String(err)}`, targets: [] };
    }
  }
}

/** One observer calling several (metrics and GitHub reporting side by side); each callback guarded by the Promoter. */
export function composeObservers(...observers: (PromotionObserver | undefined)[]): PromotionObserver {
  const list = observers.filter((o): o is PromotionObserver => o !== undefined);
  return {
    onPhase: (...a) => list.forEach((o) => o.onPhase?.(...a)),
    onTargetOutcome: (...a) => list.forEach((o) => o.onTargetOutcome?.(...a)),
    onVerifyFailure: (...a) => list.forEach((o) => o.onVerifyFailure?.(...a)),
    onPromotion: (...a) => list.forEach((o) => o.onPromotion?.(...a)),
  };
}
