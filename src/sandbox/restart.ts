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

/**
 * Restarts one component of a running sandbox with the very same arguments and environment
 * (SIGTERM, wait for exit, start again) and records its new pid in the state file, so tests can
 * show that clients survive an API server restart. Returns the new process; readiness is the
 * caller's to wait for.
 */
export async function restartComponent(opts: RestartOptions): Promise<ManagedProcess> {
  const state = readState(opts.dir);
  if (!state) throw new RelayError('SANDBOX_FAILED', `no sandbox in ${opts.dir}; run rollout-relay sandbox up first`);
  const cluster = state.clusters.find((c) => c.spec.context === opts.context);
  const index = cluster?.processes.findIndex((p) => p.name === opts.component) ?? -1;
  const proc = index >= 0 ? cluster!.processes[index]! : undefined;
  if (!cluster || !proc || !isRunning(proc)) throw new RelayError('SANDBOX_FAILED', `${opts.context}/${opts.component} is not running in the sandbox ${opts.dir}`);
  const { args, env } = commandOf(proc.pid);
  await stopProcess(proc);
  if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
  const next = await startProcess(proc.name, proc.binary, args, proc.log, env);
  cluster.processes[index] = next;
  saveState(state);
  return next;
}

function saveState(state: SandboxState): void {
  const path = join(state.dir, 'state.json');
  writeFileSync(path + '.tmp', JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(path + '.tmp', path);
}
