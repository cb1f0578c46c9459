import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import { apiStatusCode, wrapTransport } from './api-errors.js';
import { UntypedObjectApi } from './untyped-object-api.js';

/**
 * One ConfigMap of rollout-relay's own state (a status or a source record), read and written with
 * compare-and-swap on its resourceVersion: every write carries the version it read, and a 409 (someone
 * wrote or created it between our read and write) re-reads and decides again. Several replicas and
 * `promote` runs can therefore share one ConfigMap without losing each other's writes.
 */
export interface ConfigMapCasOptions<T> {
  namespace: string;
  name: string;
  /** What the ConfigMap is, for messages ("status ConfigMap", "source record"). */
  describe: string;
  /** Labels and annotations every write sets. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fromData(data: Record<string, string> | undefined): T;
  toData(value: T): Record<string, string>;
  /** How often an update re-reads and retries after losing the race. */
  maxAttempts: number;
  /** Upper bound of the random pause before attempt n is n × this (spreads racing writers apart). */
  backoffMs: number;
}

/** What an update decides on seeing the stored value: write `value`, or keep what is stored. */
export type CasDecision<T> = { write: T } | { keep: T };

export interface StoredValue<T> {
  value: T;
  resourceVersion: string;
}

export class ConfigMapCas<T> {
  /** Raw JSON over the KubeConfig's shared HTTP/2 connection: no model (de)serialisation, no second connection. */
  private readonly api: UntypedObjectApi;

  constructor(kc: KubeConfig, private readonly opts: ConfigMapCasOptions<T>) {
    this.api = UntypedObjectApi.forKubeConfig(kc);
  }

  private get where(): string {
    return `${this.opts.describe} ${this.opts.namespace}/${this.opts.name}`;
  }

  async read(): Promise<StoredValue<T> | undefined> {
    let cm: V1ConfigMap;
    try {
      cm = await this.api.read<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: this.opts.name, namespace: this.opts.namespace } });
    } catch (err) {
      if (apiStatusCode(err) === 404) return undefined;
      throw wrapTransport(err, `reading ${this.where}`);
    }
    return { value: this.opts.fromData(cm.data), resourceVersion: cm.metadata?.resourceVersion ?? '' };
  }

  /**
   * Read-decide-write until the write lands. `decide` sees the stored value (undefined when there is
   * no ConfigMap yet) on every attempt, may be async, and may throw to stop. Returns the value
   * written or kept.
   * Throws STATUS_CONFLICT after `maxAttempts` lost races.
   */
  async update(decide: (current: T | undefined) => CasDecision<T> | Promise<CasDecision<T>>): Promise<T> {
    const { namespace, name } = this.opts;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      const current = await this.read();
      const decision = await decide(current?.value);
      if ('keep' in decision) return decision.keep;
      const body: V1ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name,
          namespace,
          labels: this.opts.labels,
          annotations: this.opts.annotations,
          ...(current ? { resourceVersion: current.resourceVersion } : {}),
        },
        data: this.opts.toData(decision.write),
      };
      try {
        if (current) await this.api.replace(body);
        else await this.api.create(body);
        return decision.write;
      } catch (err) {
        if (apiStatusCode(err) === 409) {
          await new Promise((r) => setTimeout(r, Math.random() * this.opts.backoffMs * attempt));
          continue;
        }
        throw wrapTransport(err, `writing ${this.where}`);
      }
    }
    throw new RelayError('STATUS_CONFLICT', `${this.where}: lost the resourceVersion race ${this.opts.maxAttempts} times; retry`);
  }
}
