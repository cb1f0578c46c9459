import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { sandbox } from './sandbox.js';

type Crd = KubernetesObject & { spec?: unknown; status?: { conditions?: { type: string; status: string }[] } };

function crdRef(name: string): { apiVersion: string; kind: string; metadata: { name: string } } {
  return { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } };
}

async function readCrd(api: UntypedObjectApi, name: string): Promise<Crd | undefined> {
  try {
    return (await api.read(crdRef(name))) as Crd;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function waitEstablished(api: UntypedObjectApi, names: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crds = await Promise.all(names.map((n) => readCrd(api, n)));
    if (crds.every((c) => c?.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'))) return;
    if (Date.now() > deadline) throw new Error(`CRDs not established in 30 s: ${names.join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Installs Argo CD's real CRDs (Application, ApplicationSet, AppProject from the argo-cd module)
 * for the tests that need real schemas or the real ApplicationSet controller, and returns a
 * function that puts back what was there. The sandbox keeps its open-schema Argo CD CRDs by
 * default because other tests write Application status through the /status subresource, which the
 * real Application CRD does not have.
 */
export async function useRealArgoCdCrds(kc: KubeConfig): Promise<() => Promise<void>> {
  const dir = sandbox().binaries.argoCdCrds;
  const real = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Crd))
    .filter((o) => o?.kind === 'CustomResourceDefinition');
  const api = UntypedObjectApi.forKubeConfig(kc);
  const names = real.map((c) => c.metadata!.name!);
  const saved = await Promise.all(names.map((n) => readCrd(api, n)));
  await serverSideApply(kc, real);
  await waitEstablished(api, names);
  return async () => {
    for (const [i, name] of names.entries()) {
      const before = saved[i];
      if (!before) {
        try { await api.delete(crdRef(name)); } catch { /* already gone */ }
        continue;
      }
      const { name: n, labels, annotations } = before.metadata!;
      await serverSideApply(kc, [{ apiVersion: before.apiVersion, kind: before.kind, metadata: { name: n, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) }, spec: before.spec } as KubernetesObject]);
    }
    await waitEstablished(api, names.filter((_, i) => saved[i]));
  };
}
