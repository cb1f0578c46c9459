import { RelayError } from '../errors.js';
import { errorText, type Hook, type HookOutcome } from './hook.js';
import { pruneHookJobs } from './job.js';
import { templateValues } from './template.js';
import type { HookContext, HookRunner, PostCheckResult } from './types.js';

export interface HookListOptions {
  /**
   * Run every hook even after one failed (operators' `hooks run`). Default: false: in a promotion
   * the first failure decides the outcome, and the rollback should start within the deadline.
   */
  continueAfterFailure?: boolean;
  /** How long a hook may overrun its deadline before the runner stops waiting for it. Default: 2000 ms. */
  graceMs?: number;
}

/**
 * Runs one target's hooks in order (design §5), each with its own timeout capped by what is left of
 * the promotion deadline. A hook that throws or overruns becomes a failed result; the runner never
 * passes a hook it could not judge.
 */
export class HookList implements HookRunner {
  private readonly opts: Required<HookListOptions>;

  /** The Job hooks of the whole config (a `select`ed list keeps them, so cleanUp never removes a configured hook's Jobs). */
  private readonly jobHooks: readonly string[];

  constructor(readonly hooks: readonly Hook[], options: HookListOptions = {}, configuredJobHooks?: readonly string[]) {
    this.opts = { continueAfterFailure: options.continueAfterFailure ?? false, graceMs: options.graceMs ?? 2000 };
    this.jobHooks = configuredJobHooks ?? hooks.filter((h) => h.type === 'job').map((h) => h.name);
  }

  get count(): number {
    return this.hooks.length;
  }

  get names(): string[] {
    return this.hooks.map((h) => h.name);
  }

  /** A runner of only the named hooks (in config order); USAGE for a name that is not configured. */
  select(names: readonly string[], options: HookListOptions = this.opts): HookList {
    for (const n of names) {
      if (!this.names.includes(n)) throw new RelayError('USAGE', `no hook named ${n}; configured: ${this.names.join(', ') || 'none'}`);
    }
    return new HookList(names.length ? this.hooks.filter((h) => names.includes(h.name)) : this.hooks, options, this.jobHooks);
  }

  async run(ctx: HookContext): Promise<PostCheckResult[]> {
    const results: PostCheckResult[] = [];
    for (const hook of this.hooks) {
      const result = await this.runOne(hook, ctx);
      results.push(result);
      if (!result.passed && !this.opts.continueAfterFailure) break;
    }
    return results;
  }

  cleanUp(ctx: Pick<HookContext, 'kubeConfig' | 'application'>): Promise<string[]> {
    return pruneHookJobs(ctx.kubeConfig, ctx.application, this.jobHooks);
  }

  private async runOne(hook: Hook, ctx: HookContext): Promise<PostCheckResult> {
    const t0 = performance.now();
    const now = Date.now();
    const deadline = Math.min(now + hook.timeoutMs, ctx.deadline);
    const result = (o: HookOutcome): PostCheckResult => ({
      name: hook.name, type: hook.type, passed: o.passed, observed: o.observed,
      seconds: Math.round(performance.now() - t0) / 1000, revision: ctx.revision || ctx.podTemplateHash, message: o.message,
    });
    if (ctx.signal?.aborted) return result({ passed: false, observed: 'cancelled', message: 'not run: the promotion was cancelled' });
    if (deadline <= now) return result({ passed: false, observed: 'timeout', message: 'not run: no time left before the promotion deadline' });

    const ctrl = new AbortController();
    const cancel = (): void => ctrl.abort();
    ctx.signal?.addEventListener('abort', cancel, { once: true });
    let overrun: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<HookOutcome>((resolve) => {
      overrun = setTimeout(() => {
        ctrl.abort();
        resolve({ passed: false, observed: 'timeout', message: `no verdict within ${Math.round((deadline - now) / 1000)}s` });
      }, deadline - now + this.opts.graceMs);
    });
    try {
      const outcome = await Promise.race([
        hook.check({ ctx, values: templateValues(ctx), deadline, budgetMs: deadline - now, signal: ctrl.signal }),
        gaveUp,
      ]);
      if (ctx.signal?.aborted && outcome.passed) return result({ passed: false, observed: 'cancelled', message: 'the promotion was cancelled' });
      const capped = deadline < now + hook.timeoutMs && !outcome.passed && Date.now() >= deadline;
      return result(capped ? { ...outcome, message: `${outcome.message} (timeout capped by the promotion deadline)` } : outcome);
    } catch (err) {
      return result({ passed: false, observed: 'error', message: `the hook could not run: ${errorText(err)}` });
    } finally {
      clearTimeout(overrun);
      ctx.signal?.removeEventListener('abort', cancel);
    }
  }
}
