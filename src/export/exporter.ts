import type { KubeConfig } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { enableKeepAlive } from '../cluster/kubeconfig.js';
import { RelayError } from '../errors.js';
import type { WorkloadRef } from '../promote/types.js';
import { apiPrefix, DiscoveryCache, type ApiResource } from './discovery.js';
import { applicationOf, belongsTo, exportObject, INSTANCE_LABEL, neverExported, type ApplicationIdentity, type LiveObject } from './select.js';

export const WORKLOAD_API_VERSION: Record<WorkloadRef['kind'], string> = { Rollout: 'argoproj.io/v1alpha1', Deployment: 'apps/v1' };

export interface ExporterOptions {
  /** Secrets travel only when asked. Default: false. */
  includeSecrets?: boolean;
  /** Where Argo CD Applications live (for `source.commit`). Default: "argocd". */
  argocdNamespace?: string;
  /** Discovery cache lifetime in ms. Default: 300000. */
  discoveryTtlMs?: number;
}

/** The live state of one application in primary, ready for `createBundle`. */
export interface ExportedApplication extends ApplicationIdentity {
  workload: LiveObject;
  /** Raw live objects that travel (hygiene applied; canonicalisation is the bundle's job). */
  objects: LiveObject[];
  /** Objects of the application left out, and why. */
  dropped: string[];
  /** API groups whose discovery failed (aggregated APIs down): their kinds were not exported. */
  unavailable: string[];
  /**
   * Kinds the primary identity's RBAC does not let it list (`plural.group`): not exported. Least
   * privilege decides what travels; the promotion logs them. Secrets are not named unless asked for.
   */
  notReadable: string[];
  /** Argo CD Application `status.sync.revision`, when that Application exists. */
  commit?: string;
}

interface ListResponse {
  items?: LiveObject[];
}

/**
 * Exports an application's live objects from the primary (design §9): the workload, its Namespace
 * (always, so a first promotion to an empty DR creates it from signed content), and every object of
 * every listable kind (API discovery, cached) in its namespace, plus cluster-scoped ones, that
 * carries the application's instance label or the same Argo CD app in its tracking id. A workload
 * without an Argo CD tracking id is exported with server-side label selection (one LIST per kind);
 * with one, the namespace is listed whole and filtered here.
 */
export class ApplicationExporter {
  readonly api: UntypedObjectApi;
  private readonly discovery: DiscoveryCache;
  private readonly opts: Required<Omit<ExporterOptions, 'discoveryTtlMs'>>;

  constructor(kc: KubeConfig, options: ExporterOptions = {}) {
    enableKeepAlive(kc);
    this.api = UntypedObjectApi.forKubeConfig(kc);
    this.discovery = new DiscoveryCache(this.api, options.discoveryTtlMs ?? 300_000);
    this.opts = { includeSecrets: options.includeSecrets ?? false, argocdNamespace: options.argocdNamespace ?? 'argocd' };
  }

  /** Reads a workload; WORKLOAD_NOT_FOUND when absent (or its kind is not served). */
  async readWorkload(ref: WorkloadRef): Promise<LiveObject> {
    try {
      const o = await this.api.getPath(`${apiPrefix(WORKLOAD_API_VERSION[ref.kind])}/namespaces/${ref.namespace}/${ref.kind === 'Rollout' ? 'rollouts' : 'deployments'}/${ref.name}`);
      return { ...(o as LiveObject), apiVersion: WORKLOAD_API_VERSION[ref.kind], kind: ref.kind };
    } catch (err) {
      if (apiStatusCode(err) === 404) throw new RelayError('WORKLOAD_NOT_FOUND', `${ref.kind} ${ref.namespace}/${ref.name} not found in the primary cluster`);
      throw wrapTransport(err, `reading ${ref.kind} ${ref.namespace}/${ref.name}`);
    }
  }

  /**
   * The pod-template-hash of a Deployment's newest ReplicaSet (the one owned by it with the
   * Deployment's revision); '' when not created yet.
   */
  async deploymentPodTemplateHash(deployment: LiveObject): Promise<string> {
    const meta = deployment.metadata ?? {};
    const revision = meta.annotations?.['deployment.kubernetes.io/revision'];
    const uid = meta.uid as string | undefined;
    const matchLabels = ((deployment.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels) ?? {};
    const labelSelector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    let list: ListResponse;
    try {
      list = (await this.api.getPath(`/apis/apps/v1/namespaces/${meta.namespace}/replicasets`, { labelSelector })) as ListResponse;
    } catch (err) {
      throw wrapTransport(err, `listing ReplicaSets of Deployment ${meta.namespace}/${meta.name}`);
    }
    const rs = (list.items ?? []).find((r) => {
      const owned = ((r.metadata?.ownerReferences ?? []) as { uid?: string; controller?: boolean }[]).some((o) => o.uid === uid && o.controller);
      return owned && r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision;
    });
    return rs?.metadata?.labels?.['pod-template-hash'] ?? '';
  }

  /** Exports the application of `workload` (a live object read by `readWorkload`). */
  async export(workload: LiveObject): Promise<ExportedApplication> {
    const id = applicationOf(workload);
    const [{ resources, unavailable }, canList] = await Promise.all([this.discovery.resources(), this.listable(id.namespace)]);
    const candidates = resources.filter((r) => !neverExported(r.group, r.kind));
    const wanted = candidates.filter((r) => canList(r));
    const notReadable = candidates
      .filter((r) => !canList(r) && !(r.group === '' && r.kind === 'Secret' && !this.opts.includeSecrets))
      .map((r) => `${r.plural}.${r.group || 'core'}`);
    const whole = id.argoApp !== undefined; // tracking ids are not selectable server-side
    const labelSelector = whole ? undefined : `${INSTANCE_LABEL}=${id.app}`;
    const [namespaceObj, lists, commit] = await Promise.all([
      this.readNamespace(id.namespace),
      Promise.all(wanted.map((r) => this.list(r, r.namespaced ? id.namespace : undefined, labelSelector))),
      this.argoCommit(id),
    ]);
    const objects: LiveObject[] = [namespaceObj];
    const dropped: string[] = [];
    const seen = new Set<string>([`/Namespace//${id.namespace}`]);
    const workloadKey = `${workload.apiVersion}/${workload.kind}/${id.namespace}/${workload.metadata?.name}`;
    let workloadSeen = false;
    for (const { resource, items } of lists) {
      for (const item of items) {
        const obj: LiveObject = { ...item, apiVersion: resource.apiVersion, kind: resource.kind };
        const key = `${resource.group}/${resource.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
        if (seen.has(key)) continue;
        const isWorkload = `${resource.apiVersion}/${resource.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}` === workloadKey;
        if (!isWorkload && !belongsTo(obj, id)) continue;
        seen.add(key);
        if (isWorkload) workloadSeen = true;
        const d = exportObject(obj, { includeSecrets: this.opts.includeSecrets });
        if (d.drop !== undefined) dropped.push(d.drop);
        else objects.push(d.keep);
      }
    }
    // The workload belongs to its application even when it carries neither label nor tracking id.
    if (!workloadSeen) {
      const d = exportObject(workload, { includeSecrets: this.opts.includeSecrets });
      if (d.keep) objects.push(d.keep);
    }
    return { ...id, workload, objects, dropped, unavailable, notReadable, ...(commit ? { commit } : {}) };
  }

  /**
   * Which kinds this identity may list in `namespace`, from one SelfSubjectRulesReview (allowed for
   * every authenticated user). When the review fails or is incomplete every kind is tried, and a
   * 403 refuses the export as before.
   */
  private async listable(namespace: string): Promise<(r: ApiResource) => boolean> {
    type Rule = { verbs?: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] };
    let rules: Rule[];
    try {
      const review = (await this.api.create({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace } } as LiveObject & { apiVersion: string; kind: string; metadata: Record<string, unknown> })) as {
        status?: { resourceRules?: Rule[]; incomplete?: boolean };
      };
      if (!review.status || review.status.incomplete) return () => true;
      rules = review.status.resourceRules ?? [];
    } catch {
      return () => true;
    }
    const has = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);
    return (r) => rules.some((rule) => !rule.resourceNames?.length && has(rule.verbs, 'list') && has(rule.apiGroups, r.group) && has(rule.resources, r.plural));
  }

  private async readNamespace(name: string): Promise<LiveObject> {
    try {
      return { ...((await this.api.getPath(`/api/v1/namespaces/${name}`)) as LiveObject), apiVersion: 'v1', kind: 'Namespace' };
    } catch (err) {
      throw wrapTransport(err, `reading Namespace ${name}`);
    }
  }

  private async list(resource: ApiResource, namespace: string | undefined, labelSelector: string | undefined): Promise<{ resource: ApiResource; items: LiveObject[] }> {
    const path = `${apiPrefix(resource.apiVersion)}${namespace ? `/namespaces/${namespace}` : ''}/${resource.plural}`;
    try {
      const list = (await this.api.getPath(path, { labelSelector })) as ListResponse;
      return { resource, items: list.items ?? [] };
    } catch (err) {
      // A kind removed since discovery (CRD deleted) has nothing to export.
      if (apiStatusCode(err) === 404) {
        this.discovery.invalidate();
        return { resource, items: [] };
      }
      if (apiStatusCode(err) === 403) throw new RelayError('EXPORT_FAILED', `not allowed to list ${resource.plural}.${resource.group || 'core'} ${namespace ? `in ${namespace} ` : ''}in the primary; grant list on it (export reads every kind of the application)`, { cause: err });
      throw wrapTransport(err, `listing ${resource.plural}.${resource.group || 'core'}`);
    }
  }

  /** `status.sync.revision` of the Argo CD Application of this application, when one exists. */
  private async argoCommit(id: ApplicationIdentity): Promise<string | undefined> {
    for (const name of [...new Set([id.argoApp?.split('_').pop(), id.app].filter((n): n is string => !!n))]) {
      try {
        const app = (await this.api.getPath(`/apis/argoproj.io/v1alpha1/namespaces/${this.opts.argocdNamespace}/applications/${name}`)) as { status?: { sync?: { revision?: unknown } } };
        const rev = app.status?.sync?.revision;
        if (typeof rev === 'string' && rev) return rev;
      } catch (err) {
        if (apiStatusCode(err) === 404 || apiStatusCode(err) === 403) continue; // no Argo CD, or not ours to read
        throw wrapTransport(err, `reading Argo CD Application ${this.opts.argocdNamespace}/${name}`);
      }
    }
    return undefined;
  }
}
