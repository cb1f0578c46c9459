import type { KubeObject } from '../bundle/index.js';
import { groupOfApiVersion } from '../policy/scope-rules.js';

/**
 * Fields the API server refuses to change once an object exists (or, for a Service's cluster IPs,
 * fields that hold primary-only identity). An override that changes one would fail at apply time
 * in DR after other objects were written, so it is refused up front, naming the override.
 */
const IMMUTABLE: Record<string, readonly string[]> = {
  '/Service': ['/spec/clusterIP', '/spec/clusterIPs'],
  'apps/Deployment': ['/spec/selector'],
  'apps/ReplicaSet': ['/spec/selector'],
  'apps/DaemonSet': ['/spec/selector'],
  'apps/StatefulSet': ['/spec/selector', '/spec/serviceName', '/spec/volumeClaimTemplates', '/spec/podManagementPolicy'],
  'argoproj.io/Rollout': ['/spec/selector'],
  'batch/Job': ['/spec/selector', '/spec/template', '/spec/completionMode'],
  '/PersistentVolumeClaim': ['/spec/storageClassName', '/spec/volumeMode', '/spec/volumeName'],
};

/** The immutable pointers of an object's kind (a ConfigMap or Secret marked `immutable: true` adds its data). */
export function immutablePointers(obj: KubeObject): readonly string[] {
  const group = groupOfApiVersion(obj.apiVersion);
  const list = [...(IMMUTABLE[`${group}/${obj.kind}`] ?? [])];
  if (group === '' && (obj.kind === 'ConfigMap' || obj.kind === 'Secret') && obj.immutable === true) list.push('/data', '/binaryData', '/stringData');
  return list;
}

/** The value at a JSON pointer (RFC 6901), or undefined when any step is missing. */
export function valueAt(doc: unknown, pointer: string): unknown {
  if (pointer === '') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
      cur = cur[Number(key)];
    } else if (typeof cur === 'object' && cur !== null && Object.hasOwn(cur, key)) {
      cur = (cur as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
  }
  return cur;
}
