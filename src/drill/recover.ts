import type { KubeConfig } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { RelayError } from '../errors.js';
import type { WorkloadRef } from '../promote/types.js';
import { markedNodes, recoverCordonCut } from './cut-cordon.js';
import { recoverSandboxCut, recoverScaleToZero, sandboxCutLeft, scaledWorkloads, type ScaledWorkload } from './cuts.js';

/**
 * What drills killed with SIGKILL left cut in primary, and its undo (design §8: every cut has an
 * undo). Every drill recovers every kind of leftover before it starts, whatever its own cut: a node
 * left cordoned or a workload left at 0 replicas is the worst a drill can leave behind. The same
 * runs on its own as `rollout-relay drill recover`.
 */

export interface RecoverOptions {
  primary: KubeConfig;
  /** The sandbox whose cut record to look at (a scenario with a sandbox cut); other cuts keep their record in primary. */
  sandboxDir?: string | undefined;
  /** The scenario's applications: their workloads are also read by name (a cut recorded by an earlier version has no label). */
  applications?: readonly { namespace: string; name: string }[];
  log: (line: string) => void;
}

/** One leftover cut, as `drill recover --dry-run` lists it. */
export interface Leftover {
  cut: 'sandbox' | 'cordon' | 'scale-to-zero';
  /** What is cut, for people: `node primary-node-2`, `Rollout shop/checkout (2 replicas before)`. */
  what: string;
  /** When the drill made the cut (ISO 8601). */
  at: string;
  /** The drill that made it: `host/pid` (pid only for a sandbox cut). */
  by: string;
}

/** Lists the leftover cuts without undoing them. While a sandbox cut is left, primary cannot be asked about the rest. */
export async function findLeftovers(opts: Omit<RecoverOptions, 'log'>): Promise<Leftover[]> {
  const sandbox = opts.sandboxDir !== undefined ? sandboxCutLeft(opts.sandboxDir) : undefined;
  if (sandbox) return [{ cut: 'sandbox', what: `${sandbox.context} ${sandbox.component} stopped (sandbox ${opts.sandboxDir})`, at: sandbox.at, by: `pid ${sandbox.drillPid}` }];
  const api = UntypedObjectApi.forKubeConfig(opts.primary);
  const nodes = await markedNodes(api);
  const workloads = await scaledWorkloads(api, opts.applications);
  return [
    ...nodes.map((n): Leftover => ({ cut: 'cordon', what: `node ${n.name}`, at: n.marker.at, by: `${n.marker.host}/${n.marker.pid}` })),
    ...workloads.map((w): Leftover => ({ cut: 'scale-to-zero', what: `${w.ref.kind} ${w.ref.namespace}/${w.ref.name} (${w.replicas} replicas before)`, at: w.at, by: `${w.marker.host}/${w.marker.pid}` })),
  ];
}

/** What a recovery undid. */
export interface Recovery {
  /** The sandbox cluster whose API server was started again. */
  sandbox: string | undefined;
  /** Nodes uncordoned. */
  nodes: string[];
  /** Workloads given their replicas back. */
  workloads: ScaledWorkload[];
}

/** `uncordoned node n1; restored Rollout a/b to 2 replicas`; empty when nothing was undone. */
export function recoverySummary(r: Recovery): string {
  return [
    ...(r.sandbox ? [`restarted the API server of ${r.sandbox}`] : []),
    ...(r.nodes.length ? [`uncordoned node(s) ${r.nodes.join(', ')}`] : []),
    ...r.workloads.map((w) => `restored ${w.ref.kind} ${w.ref.namespace}/${w.ref.name} to ${w.replicas} replicas`),
  ].join('; ');
}

/**
 * Undoes every leftover cut the identity can see: the sandbox's (when `sandboxDir` is given), every
 * node of primary marked by a drill, every workload a drill scaled to 0. Refuses with FORBIDDEN when
 * it may not list nodes or workloads (it could not know what is left), and with DRILL_IN_PROGRESS
 * while the drill that made a cut still runs on this host.
 */
export async function recoverLeftovers(opts: RecoverOptions): Promise<Recovery> {
  // First: while primary's API server is stopped, nothing else in primary can be read.
  const sandbox = opts.sandboxDir !== undefined ? sandboxCutLeft(opts.sandboxDir)?.context : undefined;
  const restarted = opts.sandboxDir !== undefined && (await recoverSandboxCut(opts.sandboxDir, opts.log));
  const nodes = await recoverCordonCut(opts.primary, opts.log);
  const workloads = await recoverScaleToZero(opts.primary, opts.log, opts.applications);
  return { sandbox: restarted ? sandbox : undefined, nodes, workloads };
}

export interface NotComplete {
  ref: WorkloadRef;
  reason: string;
}

/**
 * Waits until every workload is complete, or `deadline`; returns those that are not (empty: all are).
 * A workload that cannot be read counts as not complete, with the error as its reason.
 */
export async function waitComplete(
  refs: readonly WorkloadRef[],
  read: (ref: WorkloadRef) => Promise<{ complete: boolean; reason: string }>,
  deadline: number,
  opts: { clock: () => number; pause: (ms: number) => Promise<void>; intervalMs: number },
): Promise<NotComplete[]> {
  for (;;) {
    const left: NotComplete[] = [];
    for (const ref of refs) {
      try {
        const s = await read(ref);
        if (!s.complete) left.push({ ref, reason: s.reason });
      } catch (err) {
        left.push({ ref, reason: err instanceof RelayError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err) });
      }
    }
    if (left.length === 0 || opts.clock() >= deadline) return left;
    await opts.pause(opts.intervalMs);
  }
}

/**
 * The refusal when primary is not back after a recovery: names what was undone and what is still not
 * complete, not a rollout or a promotion (nothing is rolling out: the drill's own leftover is).
 */
export function notBackError(recovery: Recovery, left: readonly NotComplete[], waitMs: number, after: string): RelayError {
  const namespaces = [...new Set(left.map((l) => l.ref.namespace))];
  const what = left.map((l) => `${l.ref.kind} ${l.ref.namespace}/${l.ref.name} (${l.reason})`).join(', ');
  return new RelayError(
    'DEADLINE_EXCEEDED',
    `${recoverySummary(recovery) ? `undid what an interrupted drill left in primary (${recoverySummary(recovery)})` : 'found no cut left behind by a drill in primary'}, but ${left.length === 1 ? 'this workload is' : 'these workloads are'} not complete ${waitMs / 1000} s later: ${what}; ` +
      `check their pods and primary's nodes (${namespaces.map((n) => `kubectl get pods -n ${n} -o wide`).join('; ')}; kubectl get nodes), then ${after}`,
  );
}
