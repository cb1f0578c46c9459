import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../bundle/index.js';
import { apiMessage, apiStatusCode } from '../cluster/api-errors.js';
import type { UntypedObjectApi, WatchEvent } from '../cluster/untyped-object-api.js';
import { RelayError } from '../errors.js';
import { assessHealth, hasHealthRule, type Health } from './health.js';
import { describeObject, mapBounded } from './plan.js';

export interface HealthWaitOptions {
  concurrency: number;
  pollIntervalMs: number;
  timeoutMs: number;
  onProgress?: (event: string, fields?: Record<string, unknown>) => void;
}

/** A health verdict that ends the wait: Degraded (APPLY_FAILED) or the deadline (HEALTH_TIMEOUT). */
export class HealthVerdict extends RelayError {
  constructor(code: 'APPLY_FAILED' | 'HEALTH_TIMEOUT', message: string, readonly problems: { object: string; kind: 'invalid'; message: string }[]) {
    super(code, message);
  }
}

/** The watch path could not be used (no list/watch permission, a broken stream): poll instead. */
class WatchUnavailable extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const key = (o: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } }): string =>
  `${o.apiVersion}|${o.kind}|${o.metadata?.namespace ?? ''}|${o.metadata?.name ?? ''}`;

/**
 * Waits until every object with a health rule is Healthy; Degraded or the deadline fails.
 *
 * Cost matters here (an apply waits once per sync wave and the API server shares the machine), so:
 * objects whose latest known state (the preflight read, or the apply's own response) is already
 * Healthy are not read again; the rest are listed once per kind and namespace and then followed with
 * a watch, so a verdict comes when the controller reports it instead of at the next poll. If the
 * watch path fails (no list/watch permission, a broken stream), it polls as before.
 */
export class HealthWaiter {
  constructor(private readonly api: () => UntypedObjectApi, private readonly opts: HealthWaitOptions) {}

  async wait(objs: KubeObject[], deadline: number, what: string, known?: ReadonlyMap<KubeObject, KubernetesObject>): Promise<void> {
    const last = new Map<KubeObject, Health>();
    let pending = objs.filter((o) => hasHealthRule(o.apiVersion, o.kind));
    if (known) {
      pending = pending.filter((o) => {
        const live = known.get(o);
        if (!live) return true;
        const h = this.judge(o, assessHealth(live as never), last);
        return h.status !== 'Healthy';
      });
    }
    if (!pending.length) return;
    // Past the deadline already: one read of each, as a poll round would do, then the verdict.
    if (Date.now() >= deadline) return this.poll(pending, deadline, what, last);
    try {
      await this.watch(pending, deadline, what, last);
    } catch (err) {
      if (!(err instanceof WatchUnavailable)) throw err;
      this.opts.onProgress?.('health watch unavailable; polling', { what, reason: err.message });
      await this.poll(pending.filter((o) => last.get(o)?.status !== 'Healthy'), deadline, what, last);
    }
  }

  /** Records a verdict; Degraded ends the wait at once. */
  private judge(o: KubeObject, h: Health, last: Map<KubeObject, Health>): Health {
    last.set(o, h);
    if (h.status === 'Degraded') {
      throw new HealthVerdict('APPLY_FAILED', `${describeObject(o)} is Degraded: ${h.message}`, [{ object: describeObject(o), kind: 'invalid', message: h.message }]);
    }
    return h;
  }

  private timeout(pending: KubeObject[], what: string, last: Map<KubeObject, Health>): HealthVerdict {
    const problems = pending.map((o) => ({ object: describeObject(o), kind: 'invalid' as const, message: `${last.get(o)?.status}: ${last.get(o)?.message}` }));
    const lines = problems.map((p) => `  ${p.object}: ${p.message}`).join('\n');
    return new HealthVerdict('HEALTH_TIMEOUT', `${what}: ${pending.length} object(s) not healthy within the ${Math.round(this.opts.timeoutMs / 1000)}s deadline:\n${lines}`, problems);
  }

  /** List once per (kind, namespace), then follow each list with a watch until all are Healthy. */
  private async watch(pending: KubeObject[], deadline: number, what: string, last: Map<KubeObject, Health>): Promise<void> {
    const groups = new Map<string, KubeObject[]>();
    for (const o of pending) {
      const g = `${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}`;
      groups.set(g, [...(groups.get(g) ?? []), o]);
    }
    const open = new Set<Map<string, KubeObject>>();
    const remaining = (): KubeObject[] => [...open].flatMap((m) => [...m.values()]);
    const cancels = new Set<() => void>();
    let stopped: unknown;
    const stopAll = (reason: unknown): void => {
      stopped ??= reason;
      for (const c of cancels) c();
    };
    let reported = -1;
    const progress = (): void => {
      const n = remaining().length;
      if (n !== reported && n > 0) this.opts.onProgress?.('waiting', { what, pending: n });
      reported = n;
    };

    const follow = async (objects: KubeObject[]): Promise<void> => {
      const byName = new Map(objects.map((o) => [o.metadata.name, o]));
      const waiting = new Map(objects.map((o) => [key(o), o]));
      open.add(waiting);
      const first = objects[0]!;
      const ns = first.metadata.namespace;
      // One object: select it by name, so neither the list nor the watch carries its neighbours.
      const fieldSelector = objects.length === 1 ? `metadata.name=${first.metadata.name}` : undefined;
      const see = (live: KubernetesObject): void => {
        const o = byName.get(live.metadata?.name ?? '');
        if (!o || !waiting.has(key(o))) return;
        const h = this.judge(o, assessHealth({ ...live, apiVersion: o.apiVersion, kind: o.kind } as never), last);
        if (h.status === 'Healthy') waiting.delete(key(o));
      };
      try {
        for (let relists = 0; waiting.size && stopped === undefined; relists++) {
          if (relists > 5) throw new WatchUnavailable(`the watch of ${first.kind} restarted ${relists} times`);
          let list;
          try {
            list = await this.api().listRaw(first.apiVersion, first.kind, ns, undefined, fieldSelector);
          } catch (err) {
            throw new WatchUnavailable(`listing ${first.kind}: ${apiMessage(err)}`);
          }
          const listed = new Set<string>();
          for (const item of list.items) {
            listed.add(item.metadata?.name ?? '');
            see(item);
          }
          for (const o of waiting.values()) {
            if (!listed.has(o.metadata.name)) last.set(o, { status: 'Progressing', message: `${describeObject(o)} not found` });
          }
          progress();
          if (!waiting.size || stopped !== undefined) return;
          const rv = list.metadata?.resourceVersion;
          if (!rv) throw new WatchUnavailable(`the ${first.kind} list has no resourceVersion`);
          let watch: { done: Promise<void>; cancel: () => void } | undefined;
          try {
            watch = await this.api().watchRaw(first.apiVersion, first.kind, ns, { resourceVersion: rv, timeoutSeconds: (deadline - Date.now()) / 1000 + 1, ...(fieldSelector ? { fieldSelector } : {}) }, (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                // 410 Gone: the list's version is too old to watch from; list again below.
                if (e.object.code !== 410) stopAll(new WatchUnavailable(`watching ${first.kind}: ${e.object.message ?? e.object.reason ?? 'error event'}`));
                watch?.cancel();
                return;
              }
              if (e.type === 'ADDED' || e.type === 'MODIFIED') {
                try {
                  see(e.object);
                } catch (verdict) {
                  stopAll(verdict);
                  return;
                }
                progress();
                if (!waiting.size) watch?.cancel();
              } else if (e.type === 'DELETED') {
                const o = byName.get(e.object.metadata?.name ?? '');
                if (o && waiting.has(key(o))) last.set(o, { status: 'Progressing', message: `${describeObject(o)} was deleted` });
              }
            });
          } catch (err) {
            throw new WatchUnavailable(`watching ${first.kind}: ${apiMessage(err)}`);
          }
          const { done, cancel } = watch;
          cancels.add(cancel);
          try {
            await done;
          } catch (err) {
            if (apiStatusCode(err) !== 410 && stopped === undefined) throw new WatchUnavailable(`watching ${first.kind}: ${apiMessage(err)}`);
          } finally {
            cancels.delete(cancel);
          }
          // The server ended the watch (its timeout, 410 Gone, a restart): list again and carry on.
        }
      } finally {
        if (!waiting.size) open.delete(waiting);
      }
    };

    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([...groups.values()].map((objects) => follow(objects).catch((err: unknown) => stopAll(err))));
    const expired = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), Math.max(0, deadline - Date.now()));
    });
    try {
      const outcome = await Promise.race([all.then(() => 'done' as const), expired]);
      if (outcome === 'deadline') stopAll(this.timeout(remaining(), what, last));
      await all;
    } finally {
      clearTimeout(timer);
    }
    if (stopped instanceof HealthVerdict || stopped instanceof WatchUnavailable) throw stopped;
    if (stopped !== undefined) throw stopped;
  }

  /** The fallback: read every pending object each round, sleep between rounds. */
  private async poll(objs: KubeObject[], deadline: number, what: string, last: Map<KubeObject, Health>): Promise<void> {
    let pending = objs;
    while (pending.length) {
      const results = await mapBounded(pending, this.opts.concurrency, async (o) => {
        const live = await this.api().read({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } });
        return assessHealth(live as never);
      });
      const next: KubeObject[] = [];
      results.forEach((r, i) => {
        const o = pending[i]!;
        if (r.status === 'rejected') {
          last.set(o, { status: 'Progressing', message: apiMessage(r.reason) });
          next.push(o);
          return;
        }
        if (this.judge(o, r.value, last).status !== 'Healthy') next.push(o);
      });
      pending = next;
      if (!pending.length) break;
      if (Date.now() >= deadline) throw this.timeout(pending, what, last);
      this.opts.onProgress?.('waiting', { what, pending: pending.length });
      await sleep(Math.min(this.opts.pollIntervalMs, Math.max(50, deadline - Date.now())));
    }
  }
}
