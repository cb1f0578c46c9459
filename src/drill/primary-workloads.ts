import type { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { wrapTransport } from '../cluster/api-errors.js';
import { WORKLOAD_API_VERSION } from '../export/exporter.js';
import type { WorkloadRef } from '../promote/types.js';

/** The Kubernetes cuts' view of the applications' workloads in primary: their API paths and pods. */

const PLURAL: Record<WorkloadRef['kind'], string> = { Rollout: 'rollouts', Deployment: 'deployments' };

export function workloadPath(w: WorkloadRef): string {
  const av = WORKLOAD_API_VERSION[w.kind];
  return `/${av.includes('/') && av !== 'v1' ? 'apis' : 'api'}/${av}/namespaces/${w.namespace}/${PLURAL[w.kind]}/${w.name}`;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  nodeName: string;
}

interface Meta {
  metadata?: { name?: string; namespace?: string; uid?: string; ownerReferences?: { uid?: string }[]; annotations?: Record<string, string> };
  spec?: { selector?: { matchLabels?: Record<string, string> }; nodeName?: string; replicas?: number };
}

const ownedBy = (o: Meta, uids: ReadonlySet<string>) => (o.metadata?.ownerReferences ?? []).some((r) => r.uid !== undefined && uids.has(r.uid));

/**
 * The pods of a workload (owned by its ReplicaSets, which it owns: Rollouts and Deployments alike),
 * with the node each runs on. The selector narrows the list; ownership decides.
 */
export async function workloadPods(api: UntypedObjectApi, w: WorkloadRef): Promise<PodRef[]> {
  const what = `listing the pods of ${w.kind} ${w.namespace}/${w.name} in primary`;
  try {
    const live = (await api.getPath(workloadPath(w))) as Meta;
    const labelSelector = Object.entries(live.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || undefined;
    const rsList = (await api.getPath(`/apis/apps/v1/namespaces/${w.namespace}/replicasets`, { labelSelector })) as { items?: Meta[] };
    const rsUids = new Set((rsList.items ?? []).filter((rs) => ownedBy(rs, new Set([live.metadata?.uid ?? '']))).map((rs) => rs.metadata?.uid ?? ''));
    const pods = (await api.getPath(`/api/v1/namespaces/${w.namespace}/pods`, { labelSelector })) as { items?: Meta[] };
    return (pods.items ?? []).filter((p) => ownedBy(p, rsUids)).map((p) => ({ namespace: w.namespace, name: p.metadata?.name ?? '', uid: p.metadata?.uid ?? '', nodeName: p.spec?.nodeName ?? '' }));
  } catch (err) {
    throw wrapTransport(err, what);
  }
}
