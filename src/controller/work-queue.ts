import type { CompletedRevision } from '../promote/types.js';

/** A promotion waiting to run: what completed, which targets (undefined = all), and why it was queued. */
export interface QueueItem extends CompletedRevision {
  /** Only these targets (a resumed or unreachable target); undefined = every target. */
  targets?: string[];
  /** Why: "watch", "event", "notify", "resync", "resume", "retry". For logs. */
  reason: string;
  /** Skip the "already promoted by this process" shortcut (the worker still checks DR's status). */
  force?: boolean;
  /** Epoch ms of the first detection of this revision: the promotion deadline counts from here. */
  detectedAt: number;
}

export type AddOutcome = 'queued' | 'superseded' | 'merged' | 'duplicate' | 'stale';

function sameRevision(a: Pick<CompletedRevision, 'revision' | 'podTemplateHash'>, b: Pick<CompletedRevision, 'revision' | 'podTemplateHash'>): boolean {
  return a.revision === b.revision && a.podTemplateHash === b.podTemplateHash;
}

/** Revisions of Rollouts and Deployments are increasing integers; anything else is unordered. */
export function compareRevisions(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return 0;
  return x - y;
}

function unionTargets(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a || !b) return undefined;
  return [...new Set([...a, ...b])].sort();
}

/**
 * The controller's work queue (design §1). Per application at most one item waits and at most one
 * runs. De-duplicates on (application, revision, pod-template-hash); a newer revision supersedes a
 * waiting older one, and once a newer revision was seen an older one is refused as stale, so an
 * older bundle is never applied after a newer one. Pure bookkeeping: no timers, no I/O.
 */
export class PromotionQueue {
  private readonly pending = new Map<string, QueueItem>();
  private readonly active = new Map<string, QueueItem>();
  private readonly done = new Map<string, Pick<CompletedRevision, 'revision' | 'podTemplateHash'>>();
  private readonly newest = new Map<string, string>();

  add(item: QueueItem): AddOutcome {
    const app = item.application;
    const newest = this.newest.get(app);
    if (newest !== undefined && compareRevisions(item.revision, newest) < 0) return 'stale';
    if (newest === undefined || compareRevisions(item.revision, newest) > 0) this.newest.set(app, item.revision);

    const waiting = this.pending.get(app);
    if (waiting && sameRevision(waiting, item)) {
      this.pending.set(app, { ...waiting, targets: unionTargets(waiting.targets, item.targets), force: waiting.force || item.force, detectedAt: Math.min(waiting.detectedAt, item.detectedAt) });
      return 'merged';
    }
    if (!item.force && !waiting) {
      const running = this.active.get(app);
      if (running && sameRevision(running, item)) return 'duplicate';
      const last = this.done.get(app);
      if (!running && last && sameRevision(last, item)) return 'duplicate';
    }
    if (waiting) {
      // Older (newer ones were refused above): the newer revision takes its place in line.
      this.pending.set(app, { ...item, targets: unionTargets(waiting.targets, item.targets) });
      return 'superseded';
    }
    this.pending.set(app, item);
    return 'queued';
  }

  /** The first waiting item whose application is not running; it becomes active. */
  take(): QueueItem | undefined {
    for (const [app, item] of this.pending) {
      if (this.active.has(app)) continue;
      this.pending.delete(app);
      this.active.set(app, item);
      return item;
    }
    return undefined;
  }

  /** Ends the active item of an application; `remember` records its revision as promoted. */
  finish(item: QueueItem, remember: boolean): void {
    if (this.active.get(item.application) === item) this.active.delete(item.application);
    if (remember) this.done.set(item.application, { revision: item.revision, podTemplateHash: item.podTemplateHash });
  }

  /** Drops everything (leadership lost): the next leader starts from DR's status, not from memory. */
  clear(): void {
    this.pending.clear();
    this.active.clear();
    this.done.clear();
    this.newest.clear();
  }

  isActive(application: string): boolean {
    return this.active.has(application);
  }

  get depth(): number {
    return this.pending.size;
  }

  get running(): number {
    return this.active.size;
  }
}
