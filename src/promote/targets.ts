import type { KubeConfig } from '@kubernetes/client-node';
import { argoCdSecretTarget, loadKubeConfig, type ClusterTarget } from '../cluster/kubeconfig.js';
import { transportFor } from '../cluster/api-transport.js';
import type { RelayConfig, TargetConfig } from '../config/types.js';

/** The primary's client from the config: its kubeconfig/context, each request bounded by timeouts.apiRequest. */
export function sourceKubeConfig(config: Pick<RelayConfig, 'source' | 'timeouts'>): KubeConfig {
  const { source } = config;
  return loadKubeConfig({
    ...(source.kubeconfig ? { kubeconfig: source.kubeconfig } : {}),
    ...(source.context ? { context: source.context } : {}),
    requestTimeoutMs: config.timeouts.apiRequestMs,
  });
}

/**
 * Clients per target from the config: a kubeconfig context (loaded once), or an Argo CD cluster
 * Secret in the primary (read on every call, so rotated credentials are picked up). The target's
 * name is always the configured one (the trust policy's target name). Each target's requests are
 * bounded like the primary's (`sourceKubeConfig`: timeouts.apiRequest).
 */
export function configTargetClients(primary: KubeConfig): (t: TargetConfig) => Promise<ClusterTarget> {
  const requestTimeoutMs = transportFor(primary).timeouts.requestTimeoutMs;
  const byContext = new Map<string, ClusterTarget>();
  return async (t) => {
    if (t.clusterSecret) {
      // argoCdSecretTarget gives the target the primary's request timeout itself.
      const resolved = await argoCdSecretTarget(primary, `${t.clusterSecret.namespace}/${t.clusterSecret.name}`);
      return { name: t.name, kubeConfig: resolved.kubeConfig };
    }
    let c = byContext.get(t.name);
    if (!c) {
      c = { name: t.name, kubeConfig: loadKubeConfig({ ...(t.kubeconfig ? { kubeconfig: t.kubeconfig } : {}), ...(t.context ? { context: t.context } : {}), requestTimeoutMs }) };
      byContext.set(t.name, c);
    }
    return c;
  };
}
