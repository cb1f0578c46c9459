import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PromotionResult } from '../promote/types.js';
import type { RelayErrorCode } from '../errors.js';

/** Codes a bundle verification refuses with (design §2–3): what `rollout_relay_verify_failures_total` counts. */
export const VERIFY_FAILURE_CODES: ReadonlySet<RelayErrorCode> = new Set<RelayErrorCode>([
  'DIGEST_MISMATCH', 'FILE_DIGEST_MISMATCH', 'BAD_SIGNATURE', 'UNKNOWN_KEY', 'THRESHOLD_NOT_MET', 'EXPIRED', 'ROLLBACK',
  'TARGET_NOT_ALLOWED', 'SOURCE_NOT_ALLOWED', 'UNSAFE_ENTRY', 'UNLISTED_ENTRY', 'MISSING_ENTRY', 'TOO_LARGE', 'UNSUPPORTED_FORMAT', 'MALFORMED',
]);

/** One (application, target) pair's lag, computed when Prometheus scrapes. */
export interface LagSample {
  application: string;
  target: string;
  seconds: number;
}

/**
 * The metrics of design §10 on a registry of their own (plus the process defaults), so tests and
 * several controllers in one process never collide on the global registry.
 */
export class RelayMetrics {
  readonly registry = new Registry();
  readonly promotions: Counter<'application' | 'target' | 'result'>;
  readonly phaseDuration: Histogram<'phase'>;
  readonly verifyFailures: Counter<'code'>;
  readonly queueDepth: Gauge;
  readonly lastCompleted: Gauge<'application' | 'target'>;
  readonly drLag: Gauge<'application' | 'target'>;

  constructor(sources: { queueDepth?: () => number; lag?: () => LagSample[] } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.promotions = new Counter({
      name: 'rollout_relay_promotions_total', help: 'Promotions per application, target and result (completed, failed, paused, rolled-back, error).',
      labelNames: ['application', 'target', 'result'], registers,
    });
    this.phaseDuration = new Histogram({
      name: 'rollout_relay_phase_duration_seconds', help: 'Duration of each promotion phase (export, bundle, sign, verify, preflight, apply, post-checks, ...).',
      labelNames: ['phase'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 100], registers,
    });
    this.verifyFailures = new Counter({
      name: 'rollout_relay_verify_failures_total', help: 'Bundles a target refused to verify, by error code.', labelNames: ['code'], registers,
    });
    const depth = sources.queueDepth;
    this.queueDepth = new Gauge({
      name: 'rollout_relay_queue_depth', help: 'Promotions waiting in the work queue.', registers,
      ...(depth ? { collect(this: Gauge) { this.set(depth()); } } : {}),
    });
    this.lastCompleted = new Gauge({
      name: 'rollout_relay_last_completed_timestamp_seconds', help: 'When a promotion last completed, per application and target (Unix seconds).',
      labelNames: ['application', 'target'], registers,
    });
    const lag = sources.lag;
    this.drLag = new Gauge({
      name: 'rollout_relay_dr_lag_seconds', help: "How long a target has been behind primary's current stable revision (0 = in sync).",
      labelNames: ['application', 'target'], registers,
      ...(lag ? {
        collect(this: Gauge<'application' | 'target'>) {
          this.reset();
          for (const s of lag()) this.set({ application: s.application, target: s.target }, s.seconds);
        },
      } : {}),
    });
  }

  /** Records one promotion's outcome on every target it ran for. */
  recordPromotion(result: PromotionResult, finishedAt = Date.now()): void {
    for (const [phase, ms] of Object.entries(result.phaseDurations)) this.phaseDuration.observe({ phase }, ms / 1000);
    for (const t of result.targets) {
      this.promotions.inc({ application: result.application, target: t.target, result: t.state });
      if (t.code && VERIFY_FAILURE_CODES.has(t.code)) this.verifyFailures.inc({ code: t.code });
      if (t.state === 'completed') this.lastCompleted.set({ application: result.application, target: t.target }, Math.floor(finishedAt / 1000));
    }
  }

  /** A promotion that threw before it had per-target outcomes. */
  recordError(application: string, targets: string[]): void {
    for (const target of targets) this.promotions.inc({ application, target, result: 'error' });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
