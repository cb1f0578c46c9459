import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
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

/** Uncordons every node whose mark `which` accepts; returns their names. Problems are collected, then thrown together. */
async function uncordonMarked(api: UntypedObjectApi, which: (m: DrillMarker) => boolean, log: (line: string) => void): Promise<string[]> {
  const done: string[] = [];
  const problems: string[] = [];
  for (const node of await listNodes(api)) {
    const marker = parseMarker(node.metadata.annotations?.[CORDON_ANNOTATION]);
    if (!marker || !which(marker)) continue;
    try {
      await uncordon(api, node.metadata.name);
      done.push(node.metadata.name);
      log(`uncordoned node ${node.metadata.name} in primary (cordoned by the drill at ${marker.at})`);
    } catch (err) {
      problems.push(`${node.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length) {
    throw new RelayError('CUT_FAILED', `could not uncordon every node the drill cordoned: ${problems.join('; ')}; uncordon them by hand (kubectl uncordon NODE; kubectl annotate node NODE ${CORDON_ANNOTATION}-)`);
  }
  return done;
}

/**
 * Uncordons the nodes an earlier drill cordoned and could not uncordon (it was killed): every node
 * carrying the drill's annotation. Refuses while that drill still runs on this host.
 */
export async function recoverCordonCut(primary: KubeConfig, log: (line: string) => void): Promise<string[]> {
  const api = UntypedObjectApi.forKubeConfig(primary);
  const left = (await listNodes(api)).flatMap((n) => {
    const m = parseMarker(n.metadata.annotations?.[CORDON_ANNOTATION]);
    return m ? [{ name: n.metadata.name, marker: m }] : [];
  });
  for (const { name, marker } of left) assertLeftBehind(marker, `node ${name} of primary`);
  if (left.length === 0) return [];
  log(`uncordoning ${left.length} node(s) an interrupted drill left cordoned in primary: ${left.map((l) => l.name).join(', ')}`);
  return uncordonMarked(api, () => true, log);
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
    await uncordonMarked(this.api, (m) => m.id === this.marker.id, this.deps.log);
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
