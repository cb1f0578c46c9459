import { existsSync, mkdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readBoundedFileSync, MAX_STATE_FILE_BYTES } from '../bounded-file.js';
import { RelayError } from '../errors.js';
import { ensureBinaries, type SandboxBinaries } from './binaries.js';
import { startCluster, type ClusterSpec, type ClusterState } from './cluster.js';
import { renderKubeconfig, type KubeconfigEntry } from './kubeconfig.js';
import { isRunning, stopProcess, waitForExit } from './processes.js';
import { httpsGet } from './http.js';

/**
 * The two clusters of design §1: primary "shanghai" and DR "shenzhen", both running Argo Rollouts
 * (a DR copy of a Rollout needs the controller to become healthy). Kubeconfig contexts are
 * `primary` and `dr`; their cluster entries carry the cluster names (shanghai, shenzhen) that
 * trust policies and `apply` use as the target name.
 */
export const DEFAULT_CLUSTERS: ClusterSpec[] = [
  { context: 'primary', clusterName: 'shanghai', serviceCidr: '10.96.0.0/16', serviceIp: '10.96.0.1', podCidr: '10.244.0.0/16', nodeCount: 3, argoRollouts: true },
  { context: 'dr', clusterName: 'shenzhen', serviceCidr: '10.112.0.0/16', serviceIp: '10.112.0.1', podCidr: '10.245.0.0/16', nodeCount: 3, argoRollouts: true },
];

const STATE_VERSION = 1;

export interface SandboxState {
  version: number;
  dir: string;
  kubeconfig: string;
  startedAt: string;
  clusters: ClusterState[];
  binaries: SandboxBinaries;
}

export interface SandboxOptions {
  /** State directory (kubeconfig, certificates, etcd data, logs). Default: `.sandbox`. */
  dir?: string;
  /** Progress lines for people. Default: stderr. */
  log?: (line: string) => void;
}

function resolveOptions(opts: SandboxOptions): { dir: string; log: (line: string) => void } {
  return { dir: resolve(opts.dir ?? '.sandbox'), log: opts.log ?? ((line) => process.stderr.write(line + '\n')) };
}

export function readState(dir: string): SandboxState | undefined {
  const path = join(resolve(dir), 'state.json');
  if (!existsSync(path)) return undefined;
  // Bounded: a FIFO or a huge file in its place is refused (SANDBOX_FAILED), not read into memory.
  const bytes = readBoundedFileSync(path, {
    what: 'sandbox state', maxBytes: MAX_STATE_FILE_BYTES, code: 'SANDBOX_FAILED',
    remedy: `rollout-relay did not write it: stop any sandbox processes still running, delete ${resolve(dir)} and run rollout-relay sandbox up again`,
  });
  try {
    const state = JSON.parse(bytes.toString('utf8')) as SandboxState;
    return state.version === STATE_VERSION ? state : undefined;
  } catch {
    return undefined;
  }
}

function writeState(state: SandboxState): void {
  const path = join(state.dir, 'state.json');
  writeFileSync(path + '.tmp', JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(path + '.tmp', path);
}

export interface SandboxHealth {
  healthy: boolean;
  problems: string[];
}

/** How long a failed /readyz waits for a dying process to show as gone. */
const EXIT_GRACE_MS = 3000;

/**
 * A component killed a moment ago can still hold its port while the kernel tears it down: /readyz
 * then fails (ECONNRESET) before /proc shows the process gone. A failed /readyz therefore waits
 * briefly for the cluster's processes: any that exit were the cause and are reported as
 * "not running", as a crash is; otherwise the /readyz failure itself is the problem.
 */
async function exitedOr(cluster: ClusterState, readyzProblem: string): Promise<string[]> {
  const gone = await waitForExit(cluster.processes, EXIT_GRACE_MS);
  if (gone.length === 0) return [`${cluster.spec.context}: ${readyzProblem}`];
  return gone.map((proc) => `${cluster.spec.context}: ${proc.name} (pid ${proc.pid}) is not running`);
}

/** Every process alive and every kube-apiserver answering /readyz. */
export async function checkHealth(state: SandboxState): Promise<SandboxHealth> {
  const problems: string[] = [];
  for (const cluster of state.clusters) {
    for (const proc of cluster.processes) {
      if (!isRunning(proc)) problems.push(`${cluster.spec.context}: ${proc.name} (pid ${proc.pid}) is not running`);
    }
  }
  if (problems.length === 0) {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    for (const cluster of state.clusters) {
      const ctx = kc.getContextObject(cluster.spec.context);
      const kcCluster = ctx ? kc.getCluster(ctx.cluster) : null;
      const user = ctx ? kc.getUser(ctx.user) : null;
      const decode = (s?: string) => Buffer.from(s ?? '', 'base64').toString('utf8');
      try {
        const res = await httpsGet(`${cluster.server}/readyz`, {
          caPem: decode(kcCluster?.caData),
          certPem: decode(user?.certData),
          keyPem: decode(user?.keyData),
        });
        if (res.status !== 200) problems.push(...(await exitedOr(cluster, `/readyz answered ${res.status}`)));
      } catch (err) {
        problems.push(...(await exitedOr(cluster, `/readyz failed: ${(err as Error).message}`)));
      }
    }
  }
  return { healthy: problems.length === 0, problems };
}

async function stopClusters(clusters: ClusterState[]): Promise<void> {
  // Reverse start order: controllers first, etcd last.
  await Promise.all(clusters.map(async (c) => {
    for (const proc of [...c.processes].reverse()) await stopProcess(proc);
  }));
}

/**
 * Brings up both clusters. Idempotent: a healthy sandbox is left as it is; a crashed or
 * half-started one is stopped and started again from scratch.
 */
export async function sandboxUp(options: SandboxOptions = {}): Promise<SandboxState> {
  const { dir, log } = resolveOptions(options);
  const existing = readState(dir);
  if (existing) {
    const health = await checkHealth(existing);
    if (health.healthy) {
      log(`sandbox already up (${dir}); kubeconfig ${existing.kubeconfig}`);
      return existing;
    }
    log(`sandbox in ${dir} is unhealthy (${health.problems.join('; ')}); restarting it cleanly`);
    await sandboxDown({ dir, log: () => {} });
  } else if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
  }

  const t0 = Date.now();
  log('sandbox: preparing binaries (built from Go modules on first use, then cached)');
  const binaries = await ensureBinaries(log);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, '.gitignore'), '*\n');
  log('sandbox: starting clusters primary (shanghai) and dr (shenzhen)');

  const results = await Promise.allSettled(DEFAULT_CLUSTERS.map((spec) => startCluster(spec, join(dir, spec.context), binaries, log)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error & { clusterState?: ClusterState }] : []));
  if (failures.length > 0) {
    await stopClusters([...started.map((s) => s.state), ...failures.flatMap((f) => (f.clusterState ? [f.clusterState] : []))]);
    throw new RelayError('SANDBOX_FAILED', `sandbox up failed: ${failures.map((f) => f.message).join('; ')}. Logs are under ${dir}/<context>/logs.`);
  }

  const entries: KubeconfigEntry[] = started.map(({ state, admin }) => ({ context: state.spec.context, cluster: state.spec.clusterName, server: state.server, caPem: admin.caPem, client: admin.client }));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig(entries, 'primary'), { mode: 0o600 });
  const state: SandboxState = {
    version: STATE_VERSION,
    dir,
    kubeconfig,
    startedAt: new Date().toISOString(),
    clusters: started.map((s) => s.state),
    binaries,
  };
  writeState(state);
  log(`sandbox up in ${((Date.now() - t0) / 1000).toFixed(1)} s; export KUBECONFIG=${kubeconfig}`);
  return state;
}

/** Stops every process the sandbox started (by pid) and removes its state. */
export async function sandboxDown(options: SandboxOptions = {}): Promise<void> {
  const { dir, log } = resolveOptions(options);
  const state = readState(dir);
  if (state) await stopClusters(state.clusters);
  rmSync(dir, { recursive: true, force: true });
  log(state ? `sandbox down (${dir})` : `no sandbox state in ${dir}; nothing to stop`);
}

/** `export KUBECONFIG=...` for shells, or an error when no sandbox runs. */
export function sandboxEnv(options: SandboxOptions = {}): string {
  const { dir } = resolveOptions(options);
  const state = readState(dir);
  if (!state) throw new RelayError('SANDBOX_FAILED', `no sandbox in ${dir}; run rollout-relay sandbox up first`);
  return `export KUBECONFIG=${state.kubeconfig}\nexport PATH=${join(state.binaries.kubectl, '..')}:$PATH`;
}
