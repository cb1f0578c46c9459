import type { HookContext } from './types.js';
import type { TemplateValues } from './template.js';

/** What one hook gets for one run: the promotion's context, its filled-in placeholders and its own deadline. */
export interface HookRun {
  ctx: HookContext;
  values: TemplateValues;
  /** Epoch ms: this hook's timeout, already capped by the promotion deadline. */
  deadline: number;
  /** deadline − start: the time this hook was given, for messages. */
  budgetMs: number;
  /** Aborted when the promotion is cancelled or the hook overruns its deadline. */
  signal: AbortSignal;
}

/** A hook's verdict; the runner adds name, type, duration and revision. */
export interface HookOutcome {
  passed: boolean;
  observed: string;
  message: string;
}

/** One configured check (one module per type: traffic-colour.ts, prometheus.ts, job.ts). */
export interface Hook {
  readonly name: string;
  readonly type: string;
  readonly timeoutMs: number;
  check(run: HookRun): Promise<HookOutcome>;
}

/**
 * Milliseconds this hook has left: 0 once its deadline has passed or the run was aborted. Every hook
 * asks this one question before starting another request or poll, so "time is up" means the same
 * thing for all of them.
 */
export function timeLeft(run: Pick<HookRun, 'deadline' | 'signal'>): number {
  return run.signal.aborted ? 0 : Math.max(0, run.deadline - Date.now());
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String((cause as { code: unknown }).code) : '';
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
