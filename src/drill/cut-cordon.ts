import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { apiMessage, apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { RelayError } from '../errors.js';
import type { WorkloadRef } from '../promote/types.js';
import { assertLeftBehind, CORDON_ANNOTATION, newMarker, parseMarker, type DrillMarker } from './cut-marker.js';
import type { Cut } from './cuts.js';
import { workloadPods, type PodRef } from './primary-workloads.js';

/** How long the cut waits for the deleted pods to be gone, and the undo for the workloads to be complete. */
const POD_GONE_TIMEOUT_MS = 120_000;
const COMPLETE_TIMEOUT_MS = 180_000;
const POLL_MS = 250;
/** Node status heartbeats change a node's resourceVersion often: a conflicting cordon is read and tried again. */
const CONFLICT_ATTEMPTS = 10;
const MERGE = 'application/merge-patch+json';

interface NodeObject {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
}

export interface CordonDeps {
  primary: KubeConfig;
  workloads: WorkloadRef[];
  log: (line: string) => void;
  /** Whether a workload is complete in primary (the same judgement as the runner's failback). */
  workloadState: (ref: WorkloadRef) => Promise<{ complete: boolean; reason: string }>;
}

const nodePath = (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}`;

async function listNodes(api: UntypedObjectApi, labelSelector?: string): Promise<NodeObject[]> {
  try {
    return ((await api.getPath('/api/v1/nodes', { labelSelector })) as { items?: NodeObject[] }).items ?? [];
  } catch (err) {
    if (apiStatusCode(err) === 400) throw new RelayError('CONFIG_INVALID', `primary refused cut.nodeSelector ${JSON.stringify(labelSelector)}: ${(err as Error).message}; fix the selector in the scenario`);
    throw wrapTransport(err, 'listing the nodes of primary');
  }
}

/** Uncordons a node the drill cordoned and removes its mark, in one patch. */
async function uncordon(api: UntypedObjectApi, name: string): Promise<void> {
  try {
    await api.patchRaw(nodePath(name), MERGE, { metadata: { annotations: { [CORDON_ANNOTATION]: null } }, spec: { unschedulable: null } });
  } catch (err) {
    if (apiStatusCode(err) === 404) return;
    throw wrapTransport(err, `uncordoning node ${name}`);
  }
}

/** A node a drill cordoned, with its mark. */
export interface MarkedNode {
  name: string;
  marker: DrillMarker;
}

/**
 * Every node of primary carrying a drill's mark, from one list of the nodes. An identity that may not
 * list nodes is refused (FORBIDDEN): without the list, a node left cordoned by a killed drill would go
 * unseen, and primary would stay partly cordoned.
 */
export async function markedNodes(api: UntypedObjectApi): Promise<MarkedNode[]> {
  let nodes: NodeObject[];
  try {
    nodes = await listNodes(api);
  } catch (err) {
    if (apiStatusCode(err) === 403) {
      throw new RelayError('FORBIDDEN', `the drill may not list primary's nodes (${apiMessage(err)}), so it cannot tell whether a drill killed earlier left nodes cordoned (annotation ${CORDON_ANNOTATION}); grant its identity list on nodes (manifests/drill/rbac.yaml does) and run it again`, { cause: err });
    }
    throw err;
  }
  return nodes.flatMap((n) => {
    const marker = parseMarker(n.metadata.annotations?.[CORDON_ANNOTATION]);
    return marker ? [{ name: n.metadata.name, marker }] : [];
  });
}

/** Uncordons the given marked nodes. Problems are collected, then thrown together (FORBIDDEN when the identity may not patch nodes). */
async function uncordonAll(api: UntypedObjectApi, nodes: readonly MarkedNode[], log: (line: string) => void): Promise<string[]> {
  const done: string[] = [];
  const problems: string[] = [];
  let forbidden = false;
  for (const { name, marker } of nodes) {
    try {
      await uncordon(api, name);
      done.push(name);
      log(`uncordoned node ${name} in primary (cordoned by the drill at ${marker.at})`);
    } catch (err) {
      forbidden ||= apiStatusCode(err) === 403;
      problems.push(`${name}: ${err instanceof RelayError ? err.message : apiMessage(err)}`);
    }
  }
  if (problems.length) {
    const left = nodes.filter((n) => !done.includes(n.name)).map((n) => n.name);
    const byHand = left.map((n) => `kubectl uncordon ${n}; kubectl annotate node ${n} ${CORDON_ANNOTATION}-`).join('; ');
    const grant = forbidden ? ' or grant the drill patch on nodes (manifests/drill/rbac-cordon.yaml) and run it again' : '';
    throw new RelayError(forbidden ? 'FORBIDDEN' : 'CUT_FAILED', `could not uncordon every node a drill cordoned in primary (still cordoned: ${left.join(', ')}): ${problems.join('; ')}; uncordon them by hand (${byHand})${grant}`);
  }
  return done;
}

/**
 * Uncordons the nodes an earlier drill cordoned and could not uncordon (it was killed): every node
 * carrying the drill's annotation, whatever the cut of the drill that finds them. Refuses while the
 * drill that marked one still runs on this host.
 */
export async function recoverCordonCut(primary: KubeConfig, log: (line: string) => void): Promise<string[]> {
  const api = UntypedObjectApi.forKubeConfig(primary);
  const left = await markedNodes(api);
  for (const { name, marker } of left) assertLeftBehind(marker, `node ${name} of primary`);
  if (left.length === 0) return [];
  log(`uncordoning ${left.length} node(s) an interrupted drill left cordoned in primary: ${left.map((l) => l.name).join(', ')}`);
  return uncordonAll(api, left, log);
}

/**
 * A zone or node-pool failure of primary: cordons the schedulable nodes matching the selector
 * (never one that was already unschedulable), then deletes the applications' pods on the matching
 * nodes, so primary stops serving from them; resolves once those pods are gone. Each node is
 * marked with CORDON_ANNOTATION in the same patch that cordons it, so the undo, or the next drill
 * after a SIGKILL, uncordons exactly these nodes. Nothing else in primary is deleted.
 */
export class CordonCut implements Cut {
  readonly type = 'cordon';
  private readonly api: UntypedObjectApi;
  private readonly marker = newMarker();

  constructor(private readonly nodeSelector: string, private readonly deps: CordonDeps) {
    this.api = UntypedObjectApi.forKubeConfig(deps.primary);
  }

  /** Before anything changes: refuses a selector that matches no node of primary. */
  async check(): Promise<NodeObject[]> {
    const nodes = await listNodes(this.api, this.nodeSelector);
    if (nodes.length === 0) {
      throw new RelayError('NO_MATCHING_NODES', `cut.nodeSelector ${JSON.stringify(this.nodeSelector)} matches no node of primary; check the labels (kubectl get nodes -l '${this.nodeSelector}' --show-labels) and fix the scenario; nothing was done`);
    }
    return nodes;
  }

  /** Cordons one node with the mark in the same patch; false when it was (or became) unschedulable meanwhile. */
  private async cordon(name: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      let node: NodeObject;
      try {
        node = (await this.api.getPath(nodePath(name))) as NodeObject;
      } catch (err) {
        throw wrapTransport(err, `reading node ${name}`);
      }
      if (node.spec?.unschedulable) return false;
      try {
        // resourceVersion makes the patch conditional: a node cordoned by someone else since the read is never claimed.
        await this.api.patchRaw(nodePath(name), MERGE, {
          metadata: { resourceVersion: node.metadata.resourceVersion, annotations: { [CORDON_ANNOTATION]: JSON.stringify(this.marker) } },
          spec: { unschedulable: true },
        });
        return true;
      } catch (err) {
        if (apiStatusCode(err) === 409 && attempt < CONFLICT_ATTEMPTS) continue;
        throw wrapTransport(err, `cordoning node ${name}`);
      }
    }
  }

  async apply(): Promise<void> {
    const nodes = await this.check();
    const names = new Set(nodes.map((n) => n.metadata.name));
    const cordoned: string[] = [];
    for (const node of nodes) {
      if (await this.cordon(node.metadata.name)) cordoned.push(node.metadata.name);
      else this.deps.log(`node ${node.metadata.name} in primary was already unschedulable: left as it is`);
    }
    if (cordoned.length) this.deps.log(`cordoned ${cordoned.length} node(s) in primary matching ${this.nodeSelector}: ${cordoned.join(', ')}`);
    await this.clearPods(names);
  }

  private async podsOn(nodes: ReadonlySet<string>): Promise<PodRef[]> {
    const out: PodRef[] = [];
    for (const w of this.deps.workloads) out.push(...(await workloadPods(this.api, w)).filter((p) => nodes.has(p.nodeName)));
    return out;
  }

  /**
   * Deletes the applications' pods on `nodes` until none is left there. Checked again after the
   * deletions: a replacement the scheduler placed before it saw the cordon is deleted too.
   */
  private async clearPods(nodes: ReadonlySet<string>): Promise<void> {
    const deadline = Date.now() + POD_GONE_TIMEOUT_MS;
    const deleted = new Map<string, PodRef>();
    for (;;) {
      const left = await this.podsOn(nodes);
      if (left.length === 0) break;
      for (const pod of left.filter((p) => !deleted.has(p.uid))) {
        try {
          await this.api.delete({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace } });
        } catch (err) {
          if (apiStatusCode(err) !== 404) throw wrapTransport(err, `deleting pod ${pod.namespace}/${pod.name} on node ${pod.nodeName}`);
        }
        deleted.set(pod.uid, pod);
      }
      if (Date.now() >= deadline) {
        throw new RelayError('CUT_FAILED', `pods still on the cordoned nodes ${POD_GONE_TIMEOUT_MS / 1000} s after their deletion: ${left.map((p) => `${p.namespace}/${p.name} (${p.nodeName})`).join(', ')}; check the nodes' kubelets and the pods' finalizers`);
      }
      await sleep(POLL_MS);
    }
    const pods = [...deleted.values()];
    this.deps.log(`deleted ${pods.length} pod(s) of the applications on the matching nodes, all gone${pods.length ? `: ${pods.map((p) => `${p.namespace}/${p.name} (${p.nodeName})`).join(', ')}` : ''}`);
  }

  /** Uncordons exactly the nodes this cut marked, then waits until the workloads are complete again. */
  async undo(): Promise<void> {
    await uncordonAll(this.api, (await markedNodes(this.api)).filter((n) => n.marker.id === this.marker.id), this.deps.log);
    const deadline = Date.now() + COMPLETE_TIMEOUT_MS;
    for (const w of this.deps.workloads) {
      for (;;) {
        let why: string;
        try {
          const s = await this.deps.workloadState(w);
          if (s.complete) break;
          why = s.reason;
        } catch (err) {
          why = err instanceof Error ? err.message : String(err);
        }
        if (Date.now() >= deadline) {
          throw new RelayError('CUT_FAILED', `the nodes are uncordoned, but ${w.kind} ${w.namespace}/${w.name} in primary is not complete ${COMPLETE_TIMEOUT_MS / 1000} s later: ${why}; check its pods (kubectl get pods -n ${w.namespace})`);
        }
        await sleep(POLL_MS);
      }
    }
  }
}
