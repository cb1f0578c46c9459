import { hostname } from 'node:os';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { EventRecorder, Logger, WorkloadEventTarget } from './deps.js';

export const EVENT_COMPONENT = 'rollout-relay';
/** A DR target refused a bundle in verification (design §1 alert and pause). */
export const REASON_VERIFICATION_FAILED = 'DRVerificationFailed';
export const REASON_PROMOTED = 'DRPromoted';
export const REASON_PROMOTION_FAILED = 'DRPromotionFailed';

/** Writes core/v1 Events on the workload in primary; a failure to write is logged, never thrown. */
export class KubeEventRecorder implements EventRecorder {
  private readonly api: CoreV1Api;

  constructor(kc: KubeConfig, private readonly logger?: Logger) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  warning(w: WorkloadEventTarget, reason: string, message: string): Promise<void> {
    return this.emit(w, 'Warning', reason, message);
  }

  normal(w: WorkloadEventTarget, reason: string, message: string): Promise<void> {
    return this.emit(w, 'Normal', reason, message);
  }

  private async emit(w: WorkloadEventTarget, type: string, reason: string, message: string): Promise<void> {
    const now = new Date();
    try {
      await this.api.createNamespacedEvent({
        namespace: w.namespace,
        body: {
          metadata: { generateName: `${w.name}.`, namespace: w.namespace },
          involvedObject: { apiVersion: w.apiVersion, kind: w.kind, name: w.name, namespace: w.namespace, ...(w.uid ? { uid: w.uid } : {}), ...(w.resourceVersion ? { resourceVersion: w.resourceVersion } : {}) },
          reason, message: message.slice(0, 1024), type,
          source: { component: EVENT_COMPONENT },
          reportingComponent: EVENT_COMPONENT,
          reportingInstance: hostname(),
          firstTimestamp: now, lastTimestamp: now, count: 1,
        },
      });
    } catch (err) {
      this.logger?.warn({ reason, err: err instanceof Error ? err.message : String(err) }, 'could not write event');
    }
  }
}
