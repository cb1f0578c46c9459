import type { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { wrapTransport } from '../cluster/api-errors.js';
import type { KubeObject } from '../bundle/types.js';
import { apiPrefix } from '../export/discovery.js';

interface LiveRollout {
  metadata?: { generation?: number };
  status?: { observedGeneration?: string | number; currentPodHash?: string; stableRS?: string; promoteFull?: boolean };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function isRollout(o: KubeObject): boolean {
  return o.kind === 'Rollout' && o.apiVersion.startsWith('argoproj.io/');
}

/**
 * Promotes Argo Rollouts in DR in full (design §4), as `kubectl argo rollouts promote --full` does:
 * a merge patch `{"status":{"promoteFull":true}}` on the status subresource. The flag must be set
 * after the Argo Rollouts controller has seen the new pod template: when it notices a template
 * change it resets `promoteFull`, so an early patch would be lost and the canary pauses would
 * replay (analysis, experiment and plugin steps are left out of the DR copy: dr-rollout.ts). Hence: wait until status.observedGeneration reaches the applied
 * generation, then patch only when the new pod hash is not the stable one yet (a first deploy or
 * an unchanged template has nothing to promote). Returns the names promoted.
 */
export async function promoteRolloutsFull(api: UntypedObjectApi, objects: readonly KubeObject[], deadline: number, pollMs = 100): Promise<string[]> {
  const rollouts = objects.filter(isRollout);
  const done = await Promise.all(rollouts.map(async (o) => {
    const ns = o.metadata.namespace ?? 'default';
    const path = `${apiPrefix(o.apiVersion)}/namespaces/${ns}/rollouts/${o.metadata.name}`;
    for (;;) {
      let live: LiveRollout;
      try {
        live = (await api.getPath(path)) as LiveRollout;
      } catch (err) {
        throw wrapTransport(err, `reading Rollout ${ns}/${o.metadata.name} to promote it`);
      }
      const s = live.status ?? {};
      const observed = s.observedGeneration === undefined ? undefined : Number(s.observedGeneration);
      if (observed !== undefined && observed >= (live.metadata?.generation ?? 0)) {
        if (!s.currentPodHash || s.currentPodHash === s.stableRS || s.promoteFull === true) return undefined;
        try {
          await api.patchRaw(`${path}/status`, 'application/merge-patch+json', { status: { promoteFull: true } });
        } catch (err) {
          throw wrapTransport(err, `promoting Rollout ${ns}/${o.metadata.name} in full`);
        }
        return o.metadata.name;
      }
      // The health wait after this step reports a controller that never catches up.
      if (Date.now() >= deadline) return undefined;
      await sleep(pollMs);
    }
  }));
  return done.filter((n): n is string => n !== undefined);
}
