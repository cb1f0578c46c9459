import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RelayError } from '../errors.js';
import { readState, type SandboxState } from './sandbox.js';
import { isRunning, startProcess, stopProcess, type ManagedProcess } from './processes.js';

/** argv and environment of a running process, from /proc (the sandbox starts components without a shell). */
function commandOf(pid: number): { args: string[]; env: NodeJS.ProcessEnv } {
  const split = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter((s) => s !== '');
  const argv = split('cmdline');
  const env: NodeJS.ProcessEnv = {};
  for (const kv of split('environ')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { args: argv.slice(1), env };
}

export interface RestartOptions {
  dir: string;
  /** `primary` or `dr`. */
  context: string;
  /** Component name as in the sandbox state: kube-apiserver, argo-rollouts, etcd, ... */
  component: string;
  /** Time the component stays down. Default: 0. */
  downMs?: number;
}

/** A component stopped on purpose (a drill's cut), with what it takes to start it again exactly as it ran. */
export interface StoppedComponent {
  context: string;
  component: string;
  name: string;
  binary: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  log: string;
}

function locate(opts: Pick<RestartOptions, 'dir' | 'context' | 'component'>) {
  const state = readState(opts.dir);
  if (!state) throw new RelayError('SANDBOX_FAILED', `no sandbox in ${opts.dir}; run rollout-relay sandbox up first`);
  const cluster = state.clusters.find((c) => c.spec.context === opts.context);
  const index = cluster?.processes.findIndex((p) => p.name === opts.component) ?? -1;
  const proc = index >= 0 ? cluster!.processes[index]! : undefined;
  return { state, cluster, index, proc };
}

/**
 * Stops one running component (SIGTERM, then SIGKILL after the grace) and returns its argv and
 * environment, read from /proc before it stops, so `startComponent` brings back the same process.
 * `beforeStop` gets them first: a caller that must be able to restart it after a crash persists them there.
 */
export async function stopComponent(opts: Pick<RestartOptions, 'dir' | 'context' | 'component'>, beforeStop?: (c: StoppedComponent) => void): Promise<StoppedComponent> {
  const { cluster, proc } = locate(opts);
  if (!cluster || !proc || !isRunning(proc)) throw new RelayError('SANDBOX_FAILED', `${opts.context}/${opts.component} is not running in the sandbox ${opts.dir}`);
  const { args, env } = commandOf(proc.pid);
  const stopped: StoppedComponent = { context: opts.context, component: opts.component, name: proc.name, binary: proc.binary, args, env, log: proc.log };
  beforeStop?.(stopped);
  await stopProcess(proc);
  return stopped;
}

/** Starts a component stopped by `stopComponent` and records its new pid in the state file; readiness is the caller's to wait for. */
export async function startComponent(dir: string, stopped: StoppedComponent): Promise<ManagedProcess> {
  const { state, cluster, index, proc } = locate({ dir, context: stopped.context, component: stopped.component });
  if (!cluster || index < 0) throw new RelayError('SANDBOX_FAILED', `${stopped.context}/${stopped.component} is not part of the sandbox ${dir}`);
  if (proc && isRunning(proc)) return proc;
  const next = await startProcess(stopped.name, stopped.binary, stopped.args, stopped.log, stopped.env);
  cluster.processes[index] = next;
  saveState(state);
  return next;
}

/** Whether a sandbox component's recorded process runs. */
export function componentRunning(dir: string, context: string, component: string): boolean {
  const { proc } = locate({ dir, context, component });
  return proc !== undefined && isRunning(proc);
}

/**
 * Restarts one component of a running sandbox with the very same arguments and environment
 * (SIGTERM, wait for exit, start again) and records its new pid in the state file, so tests can
 * show that clients survive an API server restart. Returns the new process; readiness is the
 * caller's to wait for.
 */
export async function restartComponent(opts: RestartOptions): Promise<ManagedProcess> {
  const stopped = await stopComponent(opts);
  if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
  return startComponent(opts.dir, stopped);
}

/**
 * Freezes one running component with SIGSTOP and returns `thaw` (SIGCONT; safe to call more than
 * once). A frozen API server keeps its sockets and the kernel still accepts connections, but nothing
 * is answered: the worst case for a client, which tests of request timeouts and connection health
 * need. Also thawed when this process exits, so a failing test does not leave the sandbox frozen.
 */
export function freezeComponent(opts: Pick<RestartOptions, 'dir' | 'context' | 'component'>): () => void {
  const { proc } = locate(opts);
  if (!proc || !isRunning(proc)) throw new RelayError('SANDBOX_FAILED', `${opts.context}/${opts.component} is not running in the sandbox ${opts.dir}`);
  const pid = proc.pid;
  let frozen = true;
  const thaw = (): void => {
    if (!frozen) return;
    frozen = false;
    process.off('exit', thaw);
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // already gone
    }
  };
  process.once('exit', thaw);
  process.kill(pid, 'SIGSTOP');
  return thaw;
}

function saveState(state: SandboxState): void {
  const path = join(state.dir, 'state.json');
  writeFileSync(path + '.tmp', JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(path + '.tmp', path);
}
