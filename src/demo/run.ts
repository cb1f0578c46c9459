import type { Writable } from 'node:stream';
import { KubeConfig, AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { sandboxUp } from '../sandbox/index.js';
import { serverSideApply } from '../sandbox/cluster.js';
import { waitFor } from '../sandbox/http.js';

export interface DemoOptions {
  dir: string;
  out: Writable;
}

const NAMESPACE = 'demo';
const APP = 'checkout';

function demoObjects(): Parameters<typeof serverSideApply>[1] {
  const labels = { app: APP };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: APP, namespace: NAMESPACE, labels },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: APP, image: 'registry.example/checkout:1.0.0' }] } },
      },
    } as Parameters<typeof serverSideApply>[1][number],
  ];
}

/**
 * The main job, end to end on real clusters. For now: sandbox up, the same workload created in
 * primary and then in DR, both shown healthy. Later issues replace the DR step by a signed,
 * verified promotion.
 */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const say = (line: string) => opts.out.write(line + '\n');
  const state = await sandboxUp({ dir: opts.dir, log: say });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  for (const context of ['primary', 'dr']) {
    kc.setCurrentContext(context);
    await serverSideApply(kc, demoObjects());
    const apps = kc.makeApiClient(AppsV1Api);
    const t0 = Date.now();
    await waitFor(`${context}: deployment ${NAMESPACE}/${APP} available`, async () => {
      const d = await apps.readNamespacedDeployment({ name: APP, namespace: NAMESPACE });
      return (d.status?.availableReplicas ?? 0) === 3 && d.status?.observedGeneration === d.metadata?.generation;
    }, { timeoutMs: 100_000 });
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${APP}` });
    say(`${context}: deployment ${NAMESPACE}/${APP} 3/3 available in ${Date.now() - t0} ms; pods: ${pods.items.map((p) => `${p.metadata?.name}@${p.spec?.nodeName} (${p.status?.phase})`).join(', ')}`);
  }
  say(`demo done. Try: eval "$(npx rollout-relay sandbox env --dir ${opts.dir})" && kubectl --context dr get nodes,pods -A`);
}
