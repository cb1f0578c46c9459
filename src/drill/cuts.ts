import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { apiMessage, apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { readBoundedFileSync, MAX_STATE_FILE_BYTES } from '../bounded-file.js';
import { RelayError } from '../errors.js';
import type { WorkloadRef } from '../promote/types.js';
import type { StoppedComponent } from '../sandbox/restart.js';
import { CordonCut } from './cut-cordon.js';
import { assertLeftBehind, CUT_LABEL, newMarker, parseMarker, pidAlive, REPLICAS_ANNOTATION, SCALED_TO_ZERO, type DrillMarker } from './cut-marker.js';
import { workloadPath } from './primary-workloads.js';
import type { CutSpec } from './scenario.js';

/**
 * How a drill cuts primary off, and how it undoes that (design §8). Every cut has an undo; `undo`
 * is safe to call more than once and when `apply` failed halfway. Nothing here deletes or prunes
 * in primary.
 */
export interface Cut {
  readonly type: string;
  /** Cuts primary off; resolves once the cut is in effect. */
  apply(): Promise<void>;
  /** Brings primary back (idempotent); resolves once primary answers again. */
  undo(): Promise<void>;
  /** Refusals that need the cluster, before anything changes (e.g. a node selector matching nothing). */
  check?(): Promise<unknown>;
}

export interface CutDeps {
  /** The primary cluster (scale-to-zero). */
  primary: KubeConfig;
  /** The applications' workloads in primary (scale-to-zero). */
  workloads: WorkloadRef[];
  /** Progress lines for people. */
  log: (line: string) => void;
  /** Whether a workload is complete in primary (cordon: the undo waits for it). */
  workloadState: (ref: WorkloadRef) => Promise<{ complete: boolean; reason: string }>;
}

export function createCut(spec: CutSpec, deps: CutDeps): Cut {
  switch (spec.type) {
    case 'sandbox':
      return new SandboxCut(spec.dir, spec.context, deps.log);
    case 'command':
      return new CommandCut(spec.run, spec.undo, spec.timeoutMs, spec.cwd);
    case 'scale-to-zero':
      return new ScaleToZeroCut(deps.primary, deps.workloads, deps.log);
    case 'cordon':
      return new CordonCut(spec.nodeSelector, deps);
  }
}

// ---- sandbox: stop primary's kube-apiserver process ----

const COMPONENT = 'kube-apiserver';
/** Written before the API server is stopped, removed once it is back: a drill killed mid-cut leaves it for the next one. */
export const CUT_RECORD = 'drill-cut.json';
const READY_TIMEOUT_MS = 120_000;

interface CutRecord {
  drillPid: number;
  at: string;
  stopped: StoppedComponent;
}

/**
 * The sandbox cut: stops the kube-apiserver process of one sandbox cluster (the same effect as the
 * primary's control plane going away: every client gets connection refused), and starts it again
 * with the very same argv and environment as undo, then waits for the sandbox to be healthy
 * (/readyz). What it takes to restart is written to `<dir>/drill-cut.json` before the stop, so a
 * drill killed with SIGKILL can still be undone: the next drill (or `recoverSandboxCut`) does it.
 */
export class SandboxCut implements Cut {
  readonly type = 'sandbox';
  private stopped: CutRecord['stopped'] | undefined;

  constructor(private readonly dir: string, private readonly context: string, private readonly log: (line: string) => void) {}

  async apply(): Promise<void> {
    const { stopComponent } = await import('../sandbox/restart.js');
    await recoverSandboxCut(this.dir, this.log);
    this.stopped = await stopComponent({ dir: this.dir, context: this.context, component: COMPONENT }, (stopped) => {
      writeRecord(this.dir, { drillPid: process.pid, at: new Date().toISOString(), stopped });
    });
  }

  async undo(): Promise<void> {
    const stopped = this.stopped ?? readRecord(this.dir)?.stopped;
    if (!stopped) return;
    await restartAndWait(this.dir, stopped, this.log);
    this.stopped = undefined;
  }
}

function writeRecord(dir: string, record: CutRecord): void {
  const path = join(dir, CUT_RECORD);
  // 0600: the environment of the API server process is in it.
  writeFileSync(path + '.tmp', JSON.stringify(record), { mode: 0o600 });
  renameSync(path + '.tmp', path);
}

function readRecord(dir: string): CutRecord | undefined {
  const path = join(dir, CUT_RECORD);
  if (!existsSync(path)) return undefined;
  // Bounded: a FIFO or a huge file in its place is refused (CUT_FAILED), not read into memory.
  const bytes = readBoundedFileSync(path, {
    what: 'drill cut record', maxBytes: MAX_STATE_FILE_BYTES, code: 'CUT_FAILED',
    remedy: `a drill did not write it: delete it, then check the sandbox (rollout-relay sandbox status --dir ${dir}) and restart it if a component is down (rollout-relay sandbox up --dir ${dir})`,
  });
  try {
    return JSON.parse(bytes.toString('utf8')) as CutRecord;
  } catch {
    return undefined;
  }
}

/** Starts the stopped API server (retrying while its port is still being released) and waits for the sandbox to be healthy. */
async function restartAndWait(dir: string, stopped: CutRecord['stopped'], log: (line: string) => void): Promise<void> {
  const [{ startComponent, componentRunning }, { readState, checkHealth }] = await Promise.all([import('../sandbox/restart.js'), import('../sandbox/sandbox.js')]);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    try {
      if (!componentRunning(dir, stopped.context, stopped.component)) await startComponent(dir, stopped);
      const state = readState(dir);
      if (!state) throw new RelayError('SANDBOX_FAILED', `no sandbox state in ${dir}`);
      const health = await checkHealth(state);
      if (health.healthy) {
        rmSync(join(dir, CUT_RECORD), { force: true });
        return;
      }
      last = health.problems.join('; ');
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (attempt === 1 || attempt % 20 === 0) log(`waiting for sandbox ${stopped.context} ${stopped.component} to be ready again (${last})`);
    await sleep(250);
  }
  throw new RelayError('SANDBOX_FAILED', `${stopped.context}/${stopped.component} did not become ready within ${READY_TIMEOUT_MS / 1000} s after the drill restarted it: ${last}; restart the sandbox (rollout-relay sandbox up --dir ${dir})`);
}

/** The sandbox cut an earlier drill left in `dir` (its record), if any: for a look without undoing it. */
export function sandboxCutLeft(dir: string): { context: string; component: string; at: string; drillPid: number } | undefined {
  const r = readRecord(dir);
  return r && { context: r.stopped.context, component: r.stopped.component, at: r.at, drillPid: r.drillPid };
}

/**
 * Undoes a sandbox cut that an earlier drill left behind (it was killed before its undo ran).
 * Refuses while that drill still runs.
 */
export async function recoverSandboxCut(dir: string, log: (line: string) => void): Promise<boolean> {
  const record = readRecord(dir);
  if (!record) return false;
  if (record.drillPid !== process.pid && pidAlive(record.drillPid)) {
    throw new RelayError('DRILL_IN_PROGRESS', `another drill (pid ${record.drillPid}) has cut ${record.stopped.context} in the sandbox ${dir} since ${record.at}; wait for it to finish`);
  }
  log(`undoing the cut an interrupted drill left in ${dir} (${record.stopped.context} ${record.stopped.component} stopped at ${record.at})`);
  await restartAndWait(dir, record.stopped, log);
  return true;
}

// ---- command: the user's own cut, as argv ----

const OUTPUT_LIMIT = 64 * 1024;

/** Runs argv without a shell; rejects with the exit status and the tail of stderr. */
export function runArgv(argv: readonly string[], opts: { timeoutMs: number; cwd: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { cwd: opts.cwd, timeout: opts.timeoutMs, maxBuffer: OUTPUT_LIMIT, shell: false, windowsHide: true }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
      const why = e.killed ? `timed out after ${opts.timeoutMs / 1000} s` : typeof e.code === 'number' ? `exited with ${e.code}` : e.code === 'ENOENT' ? 'was not found' : e.signal ? `was killed by ${e.signal}` : e.message;
      const tail = String(stderr).trim().split('\n').slice(-5).join('\n');
      reject(new RelayError('CUT_FAILED', `${argv[0]} ${why}${tail ? `: ${tail}` : ''}`));
    });
  });
}

/** The user's cut (firewall rule, load balancer switch, VM stop ...): argv run without a shell, and its undo. */
export class CommandCut implements Cut {
  readonly type = 'command';
  private applied = false;

  constructor(private readonly run: readonly string[], private readonly undoArgv: readonly string[], private readonly timeoutMs: number, private readonly cwd: string) {}

  async apply(): Promise<void> {
    // Marked first: a run that failed halfway may have cut something, and undo must then still run.
    this.applied = true;
    await runArgv(this.run, { timeoutMs: this.timeoutMs, cwd: this.cwd });
  }

  async undo(): Promise<void> {
    if (!this.applied) return;
    await runArgv(this.undoArgv, { timeoutMs: this.timeoutMs, cwd: this.cwd });
    this.applied = false;
  }
}

// ---- scale-to-zero: the primary workloads stop serving ----

interface WorkloadMeta {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { replicas?: number };
}

/** Sets `spec.replicas` and the workload's record of the cut (null removes it: annotation and label) in one patch. */
async function patchReplicas(api: UntypedObjectApi, w: WorkloadRef, replicas: number, record: string | null): Promise<void> {
  try {
    await api.patchRaw(workloadPath(w), 'application/merge-patch+json', {
      metadata: { annotations: { [REPLICAS_ANNOTATION]: record }, labels: { [CUT_LABEL]: record === null ? null : SCALED_TO_ZERO } },
      spec: { replicas },
    });
  } catch (err) {
    throw wrapTransport(err, `scaling ${w.kind} ${w.namespace}/${w.name} to ${replicas}`);
  }
}

async function readWorkloadMeta(api: UntypedObjectApi, w: WorkloadRef): Promise<WorkloadMeta> {
  try {
    return (await api.getPath(workloadPath(w))) as WorkloadMeta;
  } catch (err) {
    throw wrapTransport(err, `reading ${w.kind} ${w.namespace}/${w.name}`);
  }
}

/** A workload a drill scaled to 0, with the replicas it had and when. */
export interface ScaledWorkload {
  ref: WorkloadRef;
  replicas: number;
  at: string;
  marker: DrillMarker;
}

const WORKLOAD_LISTS: readonly { kind: WorkloadRef['kind']; path: string; plural: string }[] = [
  { kind: 'Deployment', path: '/apis/apps/v1/deployments', plural: 'deployments' },
  { kind: 'Rollout', path: '/apis/argoproj.io/v1alpha1/rollouts', plural: 'rollouts' },
];

/**
 * Every workload in every namespace of primary that a drill scaled to 0 (CUT_LABEL selects them, the
 * annotation holds the replicas). An identity that may not list them cluster-wide is refused
 * (FORBIDDEN) rather than left to miss one; a cluster without Argo Rollouts has no Rollout to find.
 */
export async function scaledWorkloads(api: UntypedObjectApi, named: readonly { namespace: string; name: string }[] = []): Promise<ScaledWorkload[]> {
  const out: ScaledWorkload[] = [];
  const add = (kind: WorkloadRef['kind'], item: WorkloadMeta): void => {
    const marker = parseMarker<{ replicas: number }>(item.metadata?.annotations?.[REPLICAS_ANNOTATION]);
    if (!marker || typeof marker.replicas !== 'number' || !item.metadata?.name || !item.metadata.namespace) return;
    const ref = { kind, namespace: item.metadata.namespace, name: item.metadata.name };
    if (out.some((w) => w.ref.kind === ref.kind && w.ref.namespace === ref.namespace && w.ref.name === ref.name)) return;
    out.push({ ref, replicas: marker.replicas, at: marker.at, marker });
  };
  for (const { kind, path, plural } of WORKLOAD_LISTS) {
    let items: WorkloadMeta[];
    try {
      items = ((await api.getPath(path, { labelSelector: `${CUT_LABEL}=${SCALED_TO_ZERO}` })) as { items?: WorkloadMeta[] }).items ?? [];
    } catch (err) {
      if (apiStatusCode(err) === 404 && kind === 'Rollout') continue;
      if (apiStatusCode(err) === 403) {
        throw new RelayError('FORBIDDEN', `the drill may not list ${plural} in all namespaces of primary (${apiMessage(err)}), so it cannot tell whether a drill killed earlier left workloads scaled to 0 (label ${CUT_LABEL}=${SCALED_TO_ZERO}); grant its identity list on deployments and rollouts cluster-wide (the ClusterRole rollout-relay-primary-read that manifests/drill/rbac.yaml binds) and run it again`, { cause: err });
      }
      throw wrapTransport(err, `listing the ${plural} a drill scaled to 0 in primary`);
    }
    for (const item of items) add(kind, item);
  }
  // A drill of an earlier version recorded the cut without the label: the scenario's own workloads are read by name too.
  for (const { namespace, name } of named) {
    for (const { kind } of WORKLOAD_LISTS) {
      try {
        add(kind, (await api.getPath(workloadPath({ kind, namespace, name }))) as WorkloadMeta);
      } catch (err) {
        if (apiStatusCode(err) === 404) continue; // no such workload of that kind (or no Rollout CRD)
        throw wrapTransport(err, `reading ${kind} ${namespace}/${name} in primary`);
      }
    }
  }
  return out;
}

/**
 * Restores the workloads an earlier drill scaled to 0 and could not restore (it was killed): every
 * workload of primary carrying the drill's record, whatever the cut of the drill that finds them,
 * gets its recorded replicas back. Refuses while the drill that scaled one still runs on this host.
 */
export async function recoverScaleToZero(primary: KubeConfig, log: (line: string) => void, named: readonly { namespace: string; name: string }[] = []): Promise<ScaledWorkload[]> {
  const api = UntypedObjectApi.forKubeConfig(primary);
  const left = await scaledWorkloads(api, named);
  for (const { ref, marker } of left) assertLeftBehind(marker, `${ref.kind} ${ref.namespace}/${ref.name} (scaled to 0)`);
  const problems: string[] = [];
  let forbidden = false;
  const restored: ScaledWorkload[] = [];
  for (const s of left) {
    const { ref: w, replicas } = s;
    try {
      await patchReplicas(api, w, replicas, null);
      log(`restored ${w.kind} ${w.namespace}/${w.name} in primary to ${replicas} replicas (an interrupted drill scaled it to 0 at ${s.at})`);
      restored.push(s);
    } catch (err) {
      forbidden ||= apiStatusCode(err) === 403;
      problems.push(`${w.kind} ${w.namespace}/${w.name}: ${err instanceof RelayError ? err.message : apiMessage(err)}`);
    }
  }
  if (problems.length) {
    const byHand = left.filter((s) => !restored.includes(s)).map(({ ref: w, replicas }) => `kubectl -n ${w.namespace} scale ${w.kind.toLowerCase()} ${w.name} --replicas=${replicas}; kubectl -n ${w.namespace} annotate ${w.kind.toLowerCase()} ${w.name} ${REPLICAS_ANNOTATION}-; kubectl -n ${w.namespace} label ${w.kind.toLowerCase()} ${w.name} ${CUT_LABEL}-`).join('; ');
    const grant = forbidden ? ' or grant the drill patch on deployments and rollouts (manifests/drill/rbac.yaml) and run it again' : '';
    throw new RelayError(forbidden ? 'FORBIDDEN' : 'CUT_FAILED', `could not restore every workload a drill scaled to 0 in primary: ${problems.join('; ')}; restore them by hand (${byHand})${grant}`);
  }
  return restored;
}

/**
 * Scales each application's workload in primary to 0 replicas and, as undo, back to the exact
 * replica count it had. Only `spec.replicas` (and the record of the cut, REPLICAS_ANNOTATION, in
 * the same patch) changes: nothing is deleted, pruned or re-templated, so no new revision starts.
 * The record lets the next drill restore the replicas when this one was killed before its undo.
 */
export class ScaleToZeroCut implements Cut {
  readonly type = 'scale-to-zero';
  private readonly api: UntypedObjectApi;
  private readonly marker = newMarker();
  private readonly saved = new Map<string, { ref: WorkloadRef; replicas: number }>();

  constructor(primary: KubeConfig, private readonly workloads: WorkloadRef[], private readonly log: (line: string) => void) {
    this.api = UntypedObjectApi.forKubeConfig(primary);
  }

  async apply(): Promise<void> {
    for (const w of this.workloads) {
      const live = await readWorkloadMeta(this.api, w);
      const replicas = typeof live.spec?.replicas === 'number' ? live.spec.replicas : 1;
      // Saved before the patch: an interrupted apply still restores what it touched.
      this.saved.set(`${w.kind}/${w.namespace}/${w.name}`, { ref: w, replicas });
      await patchReplicas(this.api, w, 0, JSON.stringify({ ...this.marker, replicas }));
      this.log(`scaled ${w.kind} ${w.namespace}/${w.name} in primary from ${replicas} to 0 replicas`);
    }
  }

  async undo(): Promise<void> {
    const problems: string[] = [];
    for (const [key, { ref, replicas }] of this.saved) {
      try {
        await patchReplicas(this.api, ref, replicas, null);
        this.saved.delete(key);
        this.log(`restored ${ref.kind} ${ref.namespace}/${ref.name} in primary to ${replicas} replicas`);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (problems.length) throw new RelayError('CUT_FAILED', `could not restore every workload's replicas: ${problems.join('; ')}; restore them by hand`);
  }
}
