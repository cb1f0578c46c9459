import { hostname } from 'node:os';
import { RelayError } from '../errors.js';

/**
 * The record a Kubernetes cut keeps on the objects it changes (design §8: every cut has an undo,
 * also after the drill was killed with SIGKILL). The cut and its record go in one patch, so no
 * crash can leave a change without its record; the undo and the next drill find the objects by it.
 */

/** On a node the cordon cut cordoned: which drill did it. The undo and the next drill uncordon exactly these. */
export const CORDON_ANNOTATION = 'rollout-relay.io/drill-cordoned';
/** On a workload the scale-to-zero cut scaled to 0: which drill, and the replicas it had. */
export const REPLICAS_ANNOTATION = 'rollout-relay.io/drill-replicas';
/**
 * Beside REPLICAS_ANNOTATION on a workload scaled to 0, in the same patch: a label, so the next drill
 * finds every such workload of primary with one selected list per kind (annotations cannot be selected).
 */
export const CUT_LABEL = 'rollout-relay.io/drill-cut';
export const SCALED_TO_ZERO = 'scale-to-zero';

export interface DrillMarker {
  /** Unique per cut: `host/pid/at`. */
  id: string;
  host: string;
  pid: number;
  at: string;
}

export function newMarker(now = new Date()): DrillMarker {
  const host = hostname();
  const at = now.toISOString();
  return { id: `${host}/${process.pid}/${at}`, host, pid: process.pid, at };
}

/** The marker in an annotation value (with any extra fields), or undefined when it is not one. */
export function parseMarker<T extends object = object>(value: string | undefined): (DrillMarker & Partial<T>) | undefined {
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as Partial<DrillMarker>;
    return typeof v.id === 'string' && typeof v.host === 'string' && typeof v.pid === 'number' && typeof v.at === 'string' ? (v as DrillMarker & Partial<T>) : undefined;
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Before undoing what another drill left: refuses (DRILL_IN_PROGRESS) while that drill still runs on
 * this host. A drill on another host cannot be asked, so its record counts as left behind.
 */
export function assertLeftBehind(marker: DrillMarker, what: string): void {
  if (marker.host === hostname() && marker.pid !== process.pid && pidAlive(marker.pid)) {
    throw new RelayError('DRILL_IN_PROGRESS', `another drill (pid ${marker.pid}) has cut ${what} since ${marker.at}; wait for it to finish`);
  }
}
