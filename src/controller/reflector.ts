import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** The part of a Kubernetes object a cache needs. */
export interface ObjectMeta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * How a reflector reaches one collection. `watch` streams events from `resourceVersion` until the
 * stream ends (resolve: resume from the last version seen) or fails (reject; an error whose
 * `statusCode`/`code` is 410 means the version is too old and the reflector relists).
 */
export interface ListerWatcher<T> {
  /** What the collection is, for logs and readiness ("primary rollouts in shop"). */
  readonly description: string;
  list(): Promise<ListResult<T>>;
  watch(resourceVersion: string, onEvent: (type: WatchEventType, object: T) => void, signal: AbortSignal): Promise<void>;
}

export interface ReflectorOptions {
  /** First back-off after a failed list or watch. Default: 500 ms. */
  initialBackoffMs?: number;
  /** Back-off cap. Default: 10 s (a retry every 10 s against a down API server is cheap; detection after it returns stays quick). */
  maxBackoffMs?: number;
  /** Injectable for tests: a sleep honouring the signal. Default: timers/promises setTimeout. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Injectable for tests: [0, 1). Default: Math.random. */
  random?: () => number;
}

export interface ReflectorEvents<T> {
  add: [obj: T];
  update: [obj: T, old: T];
  delete: [obj: T];
  /** After every successful (re)list: the cache now mirrors the server. */
  synced: [];
  /** A list or watch failed; the reflector backs off and retries by itself (not 'error': an unheard 'error' would throw). */
  retry: [err: unknown, backoffMs: number];
}

/** Thrown inside a watch when the server says the resourceVersion is gone (HTTP 410 or an ERROR event with code 410). */
export class GoneError extends Error {
  readonly statusCode = 410;
  constructor(message = 'resourceVersion too old (410 Gone)') {
    super(message);
    this.name = 'GoneError';
  }
}

export function isGone(err: unknown): boolean {
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  return e?.statusCode === 410 || e?.code === 410;
}

export function objectKey(obj: ObjectMeta): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Full-jitter exponential back-off: uniform in [base/2, min(cap, base·2^(n-1))]. Exported for tests. */
export function backoffDelay(failures: number, initialMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Informer-style list+watch of one collection (design §1): keeps a cache of the objects, resumes a
 * watch from the last resourceVersion it saw (events and bookmarks), relists on 410 Gone (emitting
 * deletes for objects that vanished meanwhile and adds/updates for the rest), and backs off with
 * jitter on any other error. It never gives up: a stopped API server is waited out.
 */
export class Reflector<T extends ObjectMeta> extends EventEmitter<ReflectorEvents<T>> {
  readonly description: string;
  private readonly store = new Map<string, T>();
  private resourceVersion = '';
  private hasSynced = false;
  /** The last list/watch failure, cleared by the next successful list (readiness detail). */
  lastError: unknown;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly opts: Required<ReflectorOptions>;

  constructor(private readonly source: ListerWatcher<T>, opts: ReflectorOptions = {}) {
    super();
    this.description = source.description;
    this.opts = {
      initialBackoffMs: opts.initialBackoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      sleep: opts.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal })),
      random: opts.random ?? Math.random,
    };
  }

  /** True once the first list completed (stays true across relists). */
  get synced(): boolean {
    return this.hasSynced;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  get(namespace: string, name: string): T | undefined {
    return this.store.get(`${namespace}/${name}`);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  start(): void {
    if (this.loop) return;
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.source.watch(this.resourceVersion, (type, obj) => this.onEvent(type, obj), signal);
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // The server compacted past our version: the only correct recovery is a fresh list.
          this.resourceVersion = '';
          continue;
        }
        failures++;
        this.lastError = err;
        const delay = backoffDelay(failures, this.opts.initialBackoffMs, this.opts.maxBackoffMs, this.opts.random);
        this.emit('retry', err, delay);
        try {
          await this.opts.sleep(delay, signal);
        } catch {
          break; // aborted while waiting
        }
      }
    }
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.source.list();
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      this.upsert(key, obj);
    }
    for (const [key, obj] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', obj);
      }
    }
    this.resourceVersion = resourceVersion;
    this.hasSynced = true;
    this.lastError = undefined;
    this.emit('synced');
  }

  private upsert(key: string, obj: T): void {
    const old = this.store.get(key);
    this.store.set(key, obj);
    if (!old) this.emit('add', obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, old);
  }

  private onEvent(type: WatchEventType, obj: T): void {
    if (type === 'ERROR') {
      const status = obj as unknown as { code?: number; message?: string };
      if (status.code === 410) throw new GoneError(status.message);
      throw Object.assign(new Error(`watch error: ${status.message ?? 'unknown'}`), { statusCode: status.code });
    }
    const rv = obj.metadata?.resourceVersion;
    if (type === 'DELETED') {
      const key = objectKey(obj);
      const old = this.store.get(key);
      this.store.delete(key);
      this.emit('delete', old ?? obj);
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      this.upsert(objectKey(obj), obj);
    }
    if (rv) this.resourceVersion = rv;
  }
}
