import { RelayError } from '../errors.js';
import { parameterKey, type PluginParameter } from './params.js';

/**
 * The plugin generator's fail-safe (design §7): an ApplicationSet deletes every Application its
 * generator stops listing, so a read error must never look like an empty list, and a sudden large
 * drop must be confirmed before it is passed on. Pure: time comes in through `now`.
 */
export interface AnswerGuardOptions {
  /** How long the last good answer is served while a target cannot be read. Default: 600000 (10 m). */
  cacheTtlMs?: number;
  /** Largest share of the previously returned entries one answer may drop. Default: 0.2. */
  maxDropShare?: number;
  /** Consecutive reads showing the same larger drop before it is passed on. Default: 3. */
  confirmReads?: number;
  /** Distinct requests (ApplicationSet and filter) remembered. Default: 1000. */
  maxEntries?: number;
  now?: () => number;
}

export type ReadResult = { ok: true; parameters: PluginParameter[] } | { ok: false; error: unknown };

export interface GuardAnswer {
  parameters: PluginParameter[];
  /** 0 when fresh; the cached answer's age when a read failed. */
  cacheAgeSeconds: number;
  /** Why the cache was served, for logs. */
  servedFromCacheBecause?: string;
}

interface Remembered {
  parameters: PluginParameter[];
  at: number;
  /** A drop beyond the budget seen on consecutive reads: which entries remain, and how often. */
  pendingDrop?: { remaining: string; reads: number };
}

/** The guard's memory as JSON (exportState/importState). */
export interface GuardState {
  version: 1;
  answers: ({ key: string } & Remembered)[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PARAMETER_STRINGS = ['cluster', 'server', 'namespace', 'application', 'revision', 'commit', 'bundleDigest', 'hotUpdateStatus'] as const;

function parseState(state: unknown): GuardState['answers'] {
  const bad = (why: string) => new RelayError('MALFORMED', `plugin guard state: ${why}`);
  if (!isRecord(state) || state.version !== 1 || !Array.isArray(state.answers)) throw bad('not a version 1 state with an answers list');
  return state.answers.map((a, i) => {
    if (!isRecord(a) || typeof a.key !== 'string' || typeof a.at !== 'number' || !Array.isArray(a.parameters)) throw bad(`answers[${i}] needs key, at and parameters`);
    const parameters = a.parameters.map((p) => {
      if (!isRecord(p) || PARAMETER_STRINGS.some((k) => typeof p[k] !== 'string') || typeof p.sequence !== 'number' || typeof p.inSync !== 'boolean') throw bad(`answers[${i}] has a malformed parameter`);
      // keyIds came later: a state written before it has none (published as unknown, an empty string).
      if (p.keyIds !== undefined && typeof p.keyIds !== 'string') throw bad(`answers[${i}] has a malformed parameter`);
      return { ...(p as unknown as PluginParameter), keyIds: (p.keyIds as string | undefined) ?? '', cacheAgeSeconds: 0 };
    });
    const pending = a.pendingDrop;
    if (pending !== undefined && !(isRecord(pending) && typeof pending.remaining === 'string' && typeof pending.reads === 'number')) throw bad(`answers[${i}].pendingDrop is malformed`);
    return { key: a.key, at: a.at, parameters, ...(pending ? { pendingDrop: { remaining: pending.remaining as string, reads: pending.reads as number } } : {}) };
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class AnswerGuard {
  private readonly opts: Required<AnswerGuardOptions>;
  private readonly answers = new Map<string, Remembered>();

  constructor(options: AnswerGuardOptions = {}) {
    this.opts = {
      cacheTtlMs: options.cacheTtlMs ?? 600_000,
      maxDropShare: options.maxDropShare ?? 0.2,
      confirmReads: options.confirmReads ?? 3,
      maxEntries: options.maxEntries ?? 1000,
      now: options.now ?? Date.now,
    };
  }

  /**
   * Decides the answer for one request (`key`: ApplicationSet and filter) from a fresh read.
   * Returns what to send, or throws PLUGIN_UNAVAILABLE / DROP_BUDGET_EXCEEDED (answered as 503).
   */
  decide(key: string, read: ReadResult): GuardAnswer {
    const now = this.opts.now();
    const previous = this.answers.get(key);
    if (!read.ok) return this.fromCache(previous, now, read.error);

    const fresh = read.parameters;
    if (previous && previous.parameters.length > 0) {
      const kept = new Set(fresh.map(parameterKey));
      const dropped = previous.parameters.filter((p) => !kept.has(parameterKey(p)));
      const share = dropped.length / previous.parameters.length;
      if (share > this.opts.maxDropShare) {
        const remaining = [...kept].sort().join(',');
        const reads = previous.pendingDrop?.remaining === remaining ? previous.pendingDrop.reads + 1 : 1;
        if (reads < this.opts.confirmReads) {
          previous.pendingDrop = { remaining, reads };
          throw new RelayError('DROP_BUDGET_EXCEEDED',
            `this answer would drop ${dropped.length} of ${previous.parameters.length} entries (${dropped.map(parameterKey).join(', ')}), ` +
            `more than maxDropShare ${this.opts.maxDropShare}; it is passed on after ${this.opts.confirmReads} consecutive reads agree ` +
            `(${reads} so far). If clusters really went away, wait; otherwise check the DR status ConfigMaps`);
        }
      }
    }
    this.remember(key, { parameters: fresh, at: now });
    return { parameters: fresh, cacheAgeSeconds: 0 };
  }

  private fromCache(previous: Remembered | undefined, now: number, error: unknown): GuardAnswer {
    const ageMs = previous ? now - previous.at : Infinity;
    if (!previous || ageMs > this.opts.cacheTtlMs) {
      const why = previous
        ? `the last good answer is ${Math.floor(ageMs / 1000)} s old, older than cacheTTL ${this.opts.cacheTtlMs / 1000} s`
        : 'there is no earlier good answer to serve';
      throw new RelayError('PLUGIN_UNAVAILABLE', `cannot read every DR target (${messageOf(error)}) and ${why}; answering an error so no Application is deleted`, { cause: error });
    }
    const cacheAgeSeconds = Math.floor(ageMs / 1000);
    return {
      parameters: previous.parameters.map((p) => ({ ...p, cacheAgeSeconds })),
      cacheAgeSeconds,
      servedFromCacheBecause: messageOf(error),
    };
  }

  /**
   * What the guard remembers, least recently answered first, as plain JSON: shared through a
   * ConfigMap (state-store.ts) so a restart or another replica keeps the cache and the drop budget.
   */
  exportState(): GuardState {
    return { version: 1, answers: [...this.answers].map(([key, r]) => ({ key, ...structuredClone(r) })) };
  }

  /**
   * Replaces what the guard remembers with a state exportState wrote (here or in another process).
   * Throws MALFORMED, changing nothing, when the state is not one (e.g. an edited ConfigMap).
   */
  importState(state: unknown): void {
    const answers = parseState(state);
    this.answers.clear();
    for (const { key, ...r } of answers) this.answers.set(key, r);
    while (this.answers.size > this.opts.maxEntries) this.answers.delete(this.answers.keys().next().value!);
  }

  private remember(key: string, entry: Remembered): void {
    this.answers.delete(key);
    this.answers.set(key, entry);
    // Map iteration is insertion order: the first key is the least recently answered.
    while (this.answers.size > this.opts.maxEntries) this.answers.delete(this.answers.keys().next().value!);
  }
}
