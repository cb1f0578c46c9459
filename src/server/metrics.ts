import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TargetOutcome } from '../promote/types.js';
import type { RelayErrorCode } from '../errors.js';

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

  // The pipeline's PromotionObserver (src/promote/deps.ts), structurally: the pipeline never imports prom-client.

  /** A phase finished (export, bundle, sign application-wide; verify, preflight, apply, post-checks, prune per target). */
  onPhase(phase: string, ms: number): void {
    this.phaseDuration.observe({ phase }, ms / 1000);
  }

  /** One target's outcome is known. */
  onTargetOutcome(application: string, outcome: TargetOutcome): void {
    this.promotions.inc({ application, target: outcome.target, result: outcome.state });
    if (outcome.state === 'completed') this.lastCompleted.set({ application, target: outcome.target }, Date.now() / 1000);
  }

  /** A target refused the bundle in verification. */
  onVerifyFailure(code: RelayErrorCode): void {
    this.verifyFailures.inc({ code });
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
