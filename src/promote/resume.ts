import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterTarget } from '../cluster/kubeconfig.js';
import { RelayError } from '../errors.js';
import { StatusWriter } from '../status/writer.js';
import { SourceRecord } from './source-record.js';

export interface ResumeRequest {
  primary: KubeConfig;
  target: ClusterTarget;
  /** `<namespace>/<app>`. */
  application: string;
  /** Why, kept in the status message. */
  reason?: string;
}

/**
 * Lifts a pause (design §6): writes `hot_update_status=pending` with a message to the paused
 * target's status ConfigMap (sequence and digest untouched; the controller watches these and
 * promotes again) and marks the target's outcome pending in primary's source record, so a later
 * `promote` proceeds too. NOT_PAUSED when neither records a pause.
 */
export async function resumeTarget(req: ResumeRequest): Promise<{ from: string }> {
  const status = new StatusWriter(req.target.kubeConfig, req.application);
  const record = new SourceRecord(req.primary, req.application);
  const [stored, source] = await Promise.all([status.read(), record.read()]);
  const drPaused = stored?.record.state === 'paused';
  const srcOutcome = source?.record.targets[req.target.name];
  const srcPaused = srcOutcome?.state === 'paused';
  if (!drPaused && !srcPaused) {
    throw new RelayError('NOT_PAUSED', `${req.application} on ${req.target.name} is not paused (status ${stored?.record.state ?? 'none'}); nothing to resume`);
  }
  const message = `resumed at ${new Date().toISOString()}${req.reason ? `: ${req.reason}` : ''}; the next promotion verifies again`;
  if (drPaused && stored) await status.update(stored.record.sequence, { state: 'pending', message });
  if (srcPaused) {
    await record.update((r) => {
      const t = r.targets[req.target.name];
      if (t?.state !== 'paused') return undefined;
      return { ...r, targets: { ...r.targets, [req.target.name]: { ...t, state: 'pending', code: undefined, message, at: new Date().toISOString() } } };
    });
  }
  return { from: 'paused' };
}
