import type { KubeConfig } from '@kubernetes/client-node';
import type { SequenceStateStore } from '../policy/state-store.js';
import { StatusWriter } from './writer.js';

/**
 * The replay/rollback state of design §3 kept in the target's status ConfigMap: the last accepted
 * sequence of an application is the `sequence` of its status (status is only written for bundles
 * that passed verification). The KubeConfig points at the target, so `target` selects nothing more.
 */
export class StatusSequenceStore implements SequenceStateStore {
  constructor(private readonly kc: KubeConfig) {}

  async get(application: string, _target: string): Promise<number | undefined> {
    const stored = await new StatusWriter(this.kc, application).read();
    return stored && stored.record.sequence > 0 ? stored.record.sequence : undefined;
  }

  async put(application: string, _target: string, sequence: number): Promise<void> {
    await new StatusWriter(this.kc, application).update(sequence, {});
  }
}
