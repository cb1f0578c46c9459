import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import { apiMessage, apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, STATUS_CONFIGMAP_PREFIX, statusFromData } from '../status/model.js';
import { buildParameters, type CompletedOnTarget, type PluginFilter, type PluginParameter, type StableRevision, type TargetStatus } from './params.js';

/** A DR target as the plugin reads it. */
export interface PluginTarget {
  name: string;
  /** The API server URL Argo CD uses as this cluster's destination. */
  server: string;
  kubeConfig: KubeConfig;
}

export interface StatusSourceOptions {
  primary: KubeConfig;
  /** The DR targets, resolved on every read (Argo CD cluster Secrets may rotate credentials). */
  targets: PluginTarget[] | (() => Promise<PluginTarget[]>);
  /** Namespaces to look in when the request names none; undefined = all (design §9 watch.namespaces). */
  namespaces?: string[];
}

const INSTANCE_LABEL = 'app.kubernetes.io/instance';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A target as the plugin reads it: its server is the one its client talks to (context or Argo CD cluster Secret). */
export function pluginTarget(name: string, kubeConfig: KubeConfig): PluginTarget {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new RelayError('CONFIG_INVALID', `target ${name} has no API server URL in its kubeconfig or cluster Secret`);
  return { name, server, kubeConfig };
}

function unreachable(target: string, err: unknown, what: string): RelayError {
  const wrapped = wrapTransport(err, `${what} in ${target}`);
  if (wrapped instanceof RelayError) return wrapped;
  const status = apiStatusCode(err);
  const detail = status === 403 ? `forbidden (${apiMessage(err)}); grant rollout-relay's ServiceAccount read access (manifests/)` : apiMessage(err);
  return new RelayError('CLUSTER_UNREACHABLE', `cannot read ${what} in ${target}: ${detail}`, { cause: err });
}

/** The last bundle that completed, from the status ConfigMap's data (current record or last_completed). */
function completedFrom(data: Record<string, string>): { status: TargetStatus['hotUpdateStatus']; completed?: CompletedOnTarget } {
  const record = statusFromData(data);
  if (record.state === 'completed' && record.bundleDigest) {
    return {
      status: record.state,
      completed: { revision: record.revision, podTemplateHash: record.podTemplateHash, commit: record.commit, bundleDigest: record.bundleDigest, sequence: record.sequence, keyIds: record.keyIds },
    };
  }
  const last = record.lastCompleted;
  if (!last) return { status: record.state };
  return {
    status: record.state,
    completed: { revision: last.revision, podTemplateHash: last.podTemplateHash ?? '', commit: last.commit ?? '', bundleDigest: last.bundleDigest, sequence: last.sequence, keyIds: last.keyIds ?? [] },
  };
}

/**
 * Reads what the plugin answers from the clusters themselves: every target's status ConfigMaps
 * (design §6) and primary's current stable revision. Any error reading any target throws, so the
 * caller answers from its cache or with an error, never with a shorter list.
 */
export class ClusterStatusSource {
  constructor(private readonly opts: StatusSourceOptions) {}

  async read(filter: PluginFilter): Promise<PluginParameter[]> {
    const targets = typeof this.opts.targets === 'function' ? await this.opts.targets() : this.opts.targets;
    const perTarget = await Promise.all(targets.map((t) => this.readTarget(t, filter)));
    const statuses = perTarget.flat();
    const apps = [...new Set(statuses.map((s) => `${s.namespace}/${s.name}`))];
    const stable = new Map<string, StableRevision | undefined>();
    await Promise.all(apps.map(async (app) => {
      const [namespace, name] = app.split('/') as [string, string];
      stable.set(app, await readStableRevision(this.opts.primary, namespace, name));
    }));
    return buildParameters(statuses, (namespace, name) => stable.get(`${namespace}/${name}`));
  }

  private async readTarget(target: PluginTarget, filter: PluginFilter): Promise<TargetStatus[]> {
    const core = target.kubeConfig.makeApiClient(CoreV1Api);
    let configMaps: V1ConfigMap[];
    try {
      if (filter.namespace && filter.application) {
        const name = `${STATUS_CONFIGMAP_PREFIX}${filter.application}`;
        try {
          configMaps = [await core.readNamespacedConfigMap({ name, namespace: filter.namespace })];
        } catch (err) {
          // No status yet for this application on this target: no entry (nothing completed there).
          if (apiStatusCode(err) === 404) return [];
          throw err;
        }
      } else {
        const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
        const namespaces = filter.namespace ? [filter.namespace] : this.opts.namespaces;
        const lists = namespaces
          ? await Promise.all(namespaces.map((namespace) => core.listNamespacedConfigMap({ namespace, labelSelector })))
          : [await core.listConfigMapForAllNamespaces({ labelSelector })];
        configMaps = lists.flatMap((l) => l.items);
      }
    } catch (err) {
      throw unreachable(target.name, err, 'status ConfigMaps');
    }
    return configMaps
      .filter((cm) => cm.metadata?.name?.startsWith(STATUS_CONFIGMAP_PREFIX))
      .map((cm) => {
        const { status, completed } = completedFrom(cm.data ?? {});
        return {
          target: target.name,
          server: target.server,
          namespace: cm.metadata!.namespace!,
          name: cm.metadata!.name!.slice(STATUS_CONFIGMAP_PREFIX.length),
          hotUpdateStatus: status,
          ...(completed ? { completed } : {}),
        };
      });
  }
}

interface WorkloadLike {
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string>; generation?: number };
  status?: Record<string, unknown>;
}

/**
 * Primary's current stable revision of `<namespace>/<app>`: the Rollout's stable ReplicaSet
 * (status.stableRS, also while a new revision is still rolling out), or a Deployment's revision
 * once it is complete. Undefined when no workload is found or it has no stable revision.
 */
export async function readStableRevision(kc: KubeConfig, namespace: string, app: string): Promise<StableRevision | undefined> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const pick = <T extends WorkloadLike>(items: T[]): T | undefined =>
    items.find((w) => w.metadata?.labels?.[INSTANCE_LABEL] === app) ?? items.find((w) => w.metadata?.name === app && !w.metadata?.labels?.[INSTANCE_LABEL]);
  try {
    let rollouts: WorkloadLike[] = [];
    try {
      const list = (await custom.listNamespacedCustomObject({ group: 'argoproj.io', version: 'v1alpha1', namespace, plural: 'rollouts' })) as { items: WorkloadLike[] };
      rollouts = list.items;
    } catch (err) {
      if (apiStatusCode(err) !== 404) throw err;   // no Argo Rollouts in primary: Deployments only
    }
    const rollout = pick(rollouts);
    if (rollout) {
      const hash = str(rollout.status?.stableRS);
      if (!hash) return undefined;
      const sets = await apps.listNamespacedReplicaSet({ namespace, labelSelector: `rollouts-pod-template-hash=${hash}` });
      const revision = sets.items.map((rs) => rs.metadata?.annotations?.['rollout.argoproj.io/revision']).find((r) => r);
      return revision ? { revision, podTemplateHash: hash } : undefined;
    }
    const deployment = pick((await apps.listNamespacedDeployment({ namespace })).items as WorkloadLike[]);
    if (!deployment) return undefined;
    const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '';
    const sets = await apps.listNamespacedReplicaSet({ namespace });
    const current = sets.items.find((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision
      && rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === deployment.metadata?.name));
    const s = deployment.status ?? {};
    const complete = s.observedGeneration === deployment.metadata?.generation && s.updatedReplicas === s.replicas && s.availableReplicas === s.replicas;
    return complete && revision ? { revision, podTemplateHash: current?.metadata?.labels?.['pod-template-hash'] ?? '' } : undefined;
  } catch (err) {
    throw unreachable('the primary', err, `the workload of ${namespace}/${app}`);
  }
}
