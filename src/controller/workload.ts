import { RelayError } from '../errors.js';
import type { WorkloadRef } from '../promote/types.js';
import type { StatusRecord } from '../status/model.js';

/** The label whose value names the application (design §9). */
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface WorkloadObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
}

export function workloadRef(obj: WorkloadObject): WorkloadRef {
  const kind = obj.kind;
  if (kind !== 'Rollout' && kind !== 'Deployment') throw new RelayError('CONFIG_INVALID', `kind ${kind ?? 'unknown'} is not a Rollout or Deployment`);
  return { kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}

/**
 * `<namespace>/<app>`, app = the workload's app.kubernetes.io/instance label or its name (design §9).
 * It names the status ConfigMaps, so it must be a DNS-1123 label: CONFIG_INVALID names the workload.
 */
export function applicationOf(obj: WorkloadObject): string {
  const ns = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  const app = obj.metadata?.labels?.[INSTANCE_LABEL] ?? name;
  if (app.length > 63 || !DNS_LABEL.test(app)) {
    throw new RelayError('CONFIG_INVALID', `${obj.kind ?? 'workload'} ${ns}/${name}: application name "${app}" (its ${INSTANCE_LABEL} label or name) must be a DNS-1123 label; relabel the workload`);
  }
  return `${ns}/${app}`;
}

/** The parts of DR's status record (design §6) that decide whether a target must be promoted. */
export type TargetStatus = Pick<StatusRecord, 'state' | 'revision'> & { podTemplateHash?: string };

/**
 * Whether a target needs this revision, judged from its status ConfigMap alone (never from memory,
 * so a restarted or new leader decides the same way):
 * - nothing recorded, or another revision → yes (behind; first promotion);
 * - pending (written by `resume`), verifying/applying/post-checks (a leader died mid-promotion) → yes,
 *   re-run the same revision: the apply engine is idempotent;
 * - paused → no, until `resume`;
 * - completed, failed or rolled-back for this very revision → no (done; a failure is not retried in a
 *   loop: a new revision or `resume` starts it again).
 */
export function targetNeeds(status: TargetStatus | undefined, revision: string, podTemplateHash: string): boolean {
  if (!status) return true;
  if (status.state === 'paused') return false;
  if (status.state === 'pending' || status.state === 'verifying' || status.state === 'applying' || status.state === 'post-checks') return true;
  if (status.revision !== revision) return true;
  if (status.podTemplateHash && podTemplateHash && status.podTemplateHash !== podTemplateHash) return true;
  return false;
}
