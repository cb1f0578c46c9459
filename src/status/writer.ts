import type { KubeConfig } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import { ConfigMapCas } from '../cluster/configmap-cas.js';
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
  private readonly cas: ConfigMapCas<StatusRecord>;

  constructor(kc: KubeConfig, application: string, opts: StatusWriterOptions = {}) {
    const app = parseApplication(application);
    this.application = application;
    this.namespace = app.namespace;
    this.name = statusConfigMapName(app.name);
    this.cas = new ConfigMapCas(kc, {
      namespace: this.namespace,
      name: this.name,
      describe: 'status ConfigMap',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      annotations: { [APPLICATION_ANNOTATION]: application },
      fromData: statusFromData,
      toData: statusToData,
      maxAttempts: opts.maxAttempts ?? 8,
      backoffMs: 20,
    });
  }

  async read(): Promise<StoredStatus | undefined> {
    const stored = await this.cas.read();
    return stored && { record: stored.value, resourceVersion: stored.resourceVersion };
  }

  /**
   * Applies `update` for a writer at `sequence`. Returns the stored record (unchanged when nothing
   * differs). Throws STATUS_CONFLICT when a newer sequence is stored or the race is lost too often.
   */
  async update(sequence: number, update: Partial<StatusRecord> | ((current: StatusRecord | undefined) => Partial<StatusRecord>)): Promise<StatusRecord> {
    return this.cas.update((current) => {
      const patch = typeof update === 'function' ? update(current) : update;
      const decision = mergeStatus(current, sequence, patch);
      if (decision.write) return { write: decision.record };
      if (decision.reason === 'unchanged') return { keep: decision.current };
      throw new RelayError('STATUS_CONFLICT', `status ${this.namespace}/${this.name} already records sequence ${decision.current.sequence}, newer than this writer's ${sequence}; the newer state is kept`);
    });
  }
}
