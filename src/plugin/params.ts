import { RelayError } from '../errors.js';
import type { HotUpdateState } from '../status/model.js';

/**
 * The ApplicationSet plugin generator's wire shapes (design §7) and the pure step that turns what
 * was read from the clusters into its parameters. No Kubernetes client here.
 */

/** What the generator's `input.parameters` may say: which applications to answer for. */
export interface PluginFilter {
  /** Only applications in this namespace. */
  namespace?: string;
  /** Only this application name (the `<app>` of `<namespace>/<app>`). */
  application?: string;
}

export interface PluginRequest {
  applicationSetName: string;
  filter: PluginFilter;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses the body Argo CD sends: `{"applicationSetName": "...", "input": {"parameters": {...}}}`.
 * Unknown input parameters are refused so a typo never widens the answer to every application.
 */
export function pluginRequestFromJSON(body: unknown): PluginRequest {
  if (!isRecord(body)) throw new RelayError('MALFORMED', 'the request body must be a JSON object');
  const name = body.applicationSetName;
  if (name !== undefined && typeof name !== 'string') throw new RelayError('MALFORMED', 'applicationSetName must be a string');
  const input = body.input ?? {};
  if (!isRecord(input)) throw new RelayError('MALFORMED', 'input must be an object');
  const params = input.parameters ?? {};
  if (!isRecord(params)) throw new RelayError('MALFORMED', 'input.parameters must be an object');
  const filter: PluginFilter = {};
  for (const [key, value] of Object.entries(params)) {
    if (key !== 'namespace' && key !== 'application') {
      throw new RelayError('MALFORMED', `input.parameters.${key} is not known; use namespace and/or application`);
    }
    if (typeof value !== 'string' || !DNS_LABEL.test(value)) {
      throw new RelayError('MALFORMED', `input.parameters.${key} must be a lower-case DNS-1123 label, got ${JSON.stringify(value)}`);
    }
    filter[key] = value;
  }
  if (filter.application && !filter.namespace) {
    throw new RelayError('MALFORMED', 'input.parameters.application needs input.parameters.namespace (applications are <namespace>/<name>)');
  }
  return { applicationSetName: name ?? '', filter };
}

/** The last bundle that completed on a target: what a DR Application may be pinned to. */
export interface CompletedOnTarget {
  revision: string;
  /** Empty when unknown (older status records). */
  podTemplateHash: string;
  /** The verified `source.commit` of the bundle; empty when the source had none. */
  commit: string;
  bundleDigest: string;
  sequence: number;
  /** Ids of the keys whose signatures DR verified for that bundle; empty when the record predates them. */
  keyIds: string[];
}

/** One DR target's status for one application, as read from its status ConfigMap. */
export interface TargetStatus {
  /** The target's name (the policy's target name, also the Argo CD cluster name). */
  target: string;
  /** The target's API server URL, as an Argo CD destination names it. */
  server: string;
  namespace: string;
  /** The application name (`<app>`). */
  name: string;
  /** The current state (the latest promotion may have failed after an earlier one completed). */
  hotUpdateStatus: HotUpdateState;
  /** The current record when it is completed, else the last completed bundle; undefined = none yet. */
  completed?: CompletedOnTarget;
}

/** The primary's current stable revision of an application, or undefined when it has none now. */
export interface StableRevision {
  revision: string;
  podTemplateHash: string;
}

/** One entry of `output.parameters`: one application on one DR target. */
export interface PluginParameter {
  cluster: string;
  server: string;
  namespace: string;
  application: string;
  /** Revision, commit, digest and sequence of the last bundle that completed on this target. */
  revision: string;
  commit: string;
  bundleDigest: string;
  sequence: number;
  /** The key ids that verified that bundle in DR, comma-separated (a string, so any template can use it); empty when unknown. */
  keyIds: string;
  /** The target's current state: `failed` here means the newest promotion did not complete. */
  hotUpdateStatus: HotUpdateState;
  inSync: boolean;
  /** 0 for a fresh answer; the age of the cached answer otherwise. */
  cacheAgeSeconds: number;
}

/** The identity of an entry for the drop budget: an application on a cluster. */
export function parameterKey(p: Pick<PluginParameter, 'cluster' | 'namespace' | 'application'>): string {
  return `${p.cluster}/${p.namespace}/${p.application}`;
}

/**
 * In sync: DR completed the bundle of primary's current stable revision (same revision and, when
 * both are known, the same pod-template-hash). A DR that is failed, paused or mid-apply is not.
 */
export function isInSync(status: TargetStatus, stable: StableRevision | undefined): boolean {
  const done = status.completed;
  if (!stable || !done || status.hotUpdateStatus !== 'completed') return false;
  if (done.revision !== stable.revision) return false;
  return !(done.podTemplateHash && stable.podTemplateHash && done.podTemplateHash !== stable.podTemplateHash);
}

/**
 * Builds the parameters, sorted by cluster then application so equal inputs give equal answers.
 * Only a bundle that was verified and *completed* is published: a failed or in-flight promotion
 * leaves the last completed commit in place, and a target where nothing completed yet gets no
 * entry (an empty targetRevision would make Argo CD follow the branch head).
 */
export function buildParameters(statuses: TargetStatus[], stableOf: (namespace: string, name: string) => StableRevision | undefined): PluginParameter[] {
  return statuses
    .flatMap((s) => {
      const done = s.completed;
      if (!done) return [];
      return [{
        cluster: s.target,
        server: s.server,
        namespace: s.namespace,
        application: s.name,
        revision: done.revision,
        commit: done.commit,
        bundleDigest: done.bundleDigest,
        sequence: done.sequence,
        keyIds: done.keyIds.join(','),
        hotUpdateStatus: s.hotUpdateStatus,
        inSync: isInSync(s, stableOf(s.namespace, s.name)),
        cacheAgeSeconds: 0,
      }];
    })
    .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.application.localeCompare(b.application));
}
