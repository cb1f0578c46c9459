import type { KubeConfig } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { RelayError } from '../errors.js';
import { APPLICATION_ANNOTATION } from '../status/model.js';
import { StatusWriter } from '../status/writer.js';
import type { HookContext } from './types.js';

const WORKLOAD_KINDS = [
  { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
] as const;

/** What DR runs now for one workload, as its status ConfigMap records it. */
export interface LiveRevision {
  context: Omit<HookContext, 'deadline' | 'signal'>;
  /** The status's hot_update_status: hooks are meant for `completed`; anything else is reported. */
  state: string;
}

/**
 * Reads the application a workload belongs to from its DR copy (every applied object carries the
 * application annotation) and the revision, pod-template-hash and digest from the DR status
 * ConfigMap, so `hooks run` checks what is live in DR without asking the primary (which a drill
 * may have cut off).
 */
export async function liveRevision(kc: KubeConfig, target: string, namespace: string, name: string): Promise<LiveRevision> {
  const api = UntypedObjectApi.forKubeConfig(kc);
  let application: string | undefined;
  for (const k of WORKLOAD_KINDS) {
    try {
      const obj = await api.read({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name, namespace } });
      application = obj.metadata?.annotations?.[APPLICATION_ANNOTATION];
      if (application) break;
    } catch (err) {
      if (apiStatusCode(err) === 404 || (err instanceof Error && /Unrecognized API version|Failed to fetch resource metadata/.test(err.message))) continue;
      throw wrapTransport(err, `reading ${k.kind} ${namespace}/${name} in ${target}`);
    }
  }
  if (!application) {
    throw new RelayError('USAGE', `no Rollout or Deployment ${namespace}/${name} applied by rollout-relay in ${target}; promote it first`);
  }
  const stored = await new StatusWriter(kc, application).read();
  if (!stored) throw new RelayError('USAGE', `${application} has no status ConfigMap in ${target}; promote it first`);
  const r = stored.record;
  const [ns, app] = application.split('/') as [string, string];
  return {
    state: r.state,
    context: { application, namespace: ns, app, target, revision: r.revision, podTemplateHash: r.podTemplateHash, digest: r.bundleDigest, kubeConfig: kc },
  };
}
