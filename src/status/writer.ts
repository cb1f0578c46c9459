import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import {
  APPLICATION_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, mergeStatus, parseApplication, statusConfigMapName,
  statusFromData, statusToData, type StatusRecord,
} from './model.js';

export interface StoredStatus {
  record: StatusRecord;
  resourceVersion: string;
}

export interface StatusWriterOptions {
  /** How often a write re-reads and retries after losing a resourceVersion race. Default: 8. */
  maxAttempts?: number;
}

/**
 * Reads and writes the status ConfigMap of one application with optimistic concurrency: every write
 * carries the resourceVersion it read, a 409 re-reads and re-merges, and a writer with an older
 * sequence than the stored one is refused with STATUS_CONFLICT instead of overwriting newer state.
 */
export class StatusWriter {
  readonly namespace: string;
  readonly name: string;
  readonly application: string;
  private readonly api: CoreV1Api;
  private readonly maxAttempts: number;

  constructor(kc: KubeConfig, application: string, opts: StatusWriterOptions = {}) {
    const app = parseApplication(application);
    this.application = application;
    this.namespace = app.namespace;
    this.name = statusConfigMapName(app.name);
    this.api = kc.makeApiClient(CoreV1Api);
    this.maxAttempts = opts.maxAttempts ?? 8;
  }

  async read(): Promise<StoredStatus | undefined> {
    let cm: V1ConfigMap;
    try {
      cm = await this.api.readNamespacedConfigMap({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (apiStatusCode(err) === 404) return undefined;
      throw wrapTransport(err, `reading status ConfigMap ${this.namespace}/${this.name}`);
    }
    return { record: statusFromData(cm.data), resourceVersion: cm.metadata?.resourceVersion ?? '' };
  }

  /**
   * Applies `update` for a writer at `sequence`. Returns the stored record (unchanged when nothing
   * differs). Throws STATUS_CONFLICT when a newer sequence is stored or the race is lost too often.
   */
  async update(sequence: number, update: Partial<StatusRecord> | ((current: StatusRecord | undefined) => Partial<StatusRecord>)): Promise<StatusRecord> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.read();
      const patch = typeof update === 'function' ? update(current?.record) : update;
      const decision = mergeStatus(current?.record, sequence, patch);
      if (!decision.write) {
        if (decision.reason === 'unchanged') return decision.current;
        throw new RelayError('STATUS_CONFLICT', `status ${this.namespace}/${this.name} already records sequence ${decision.current.sequence}, newer than this writer's ${sequence}; the newer state is kept`);
      }
      const body: V1ConfigMap = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: this.name,
          namespace: this.namespace,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { [APPLICATION_ANNOTATION]: this.application },
          ...(current ? { resourceVersion: current.resourceVersion } : {}),
        },
        data: statusToData(decision.record),
      };
      try {
        if (current) await this.api.replaceNamespacedConfigMap({ name: this.name, namespace: this.namespace, body });
        else await this.api.createNamespacedConfigMap({ namespace: this.namespace, body });
        return decision.record;
      } catch (err) {
        const code = apiStatusCode(err);
        // 409: someone wrote between our read and write (or created it first): re-read, re-merge.
        if (code === 409) {
          await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          continue;
        }
        throw wrapTransport(err, `writing status ConfigMap ${this.namespace}/${this.name}`);
      }
    }
    throw new RelayError('STATUS_CONFLICT', `status ${this.namespace}/${this.name}: lost the resourceVersion race ${this.maxAttempts} times; retry`);
  }
}
