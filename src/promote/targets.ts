import type { KubeConfig } from '@kubernetes/client-node';
import { argoCdSecretTarget, loadKubeConfig, type ClusterTarget } from '../cluster/kubeconfig.js';
import type { TargetConfig } from '../config/types.js';

/**
 * Clients per target from the config: a kubeconfig context (loaded once), or an Argo CD cluster
 * Secret in the primary (read on every call, so rotated credentials are picked up). The target's
 * name is always the configured one (the trust policy's target name).
 */
export function configTargetClients(primary: KubeConfig): (t: TargetConfig) => Promise<ClusterTarget> {
  const byContext = new Map<string, ClusterTarget>();
  return async (t) => {
    if (t.clusterSecret) {
      const resolved = await argoCdSecretTarget(primary, `${t.clusterSecret.namespace}/${t.clusterSecret.name}`);
      return { name: t.name, kubeConfig: resolved.kubeConfig };
    }
    let c = byContext.get(t.name);
    if (!c) {
      c = { name: t.name, kubeConfig: loadKubeConfig({ ...(t.kubeconfig ? { kubeconfig: t.kubeconfig } : {}), ...(t.context ? { context: t.context } : {}) }) };
      byContext.set(t.name, c);
    }
    return c;
  };
}
