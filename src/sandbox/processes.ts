import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A background process the sandbox started; the binary path lets us tell it from a reused pid. */
export interface ManagedProcess {
  name: string;
  pid: number;
  binary: string;
  log: string;
}

/**
 * Starts a long-running component detached from this process (it outlives the CLI call), with
 * stdout and stderr appended to its log file. Arguments are passed as an array: no shell.
 * Resolves after the program was exec'd (libuv reports 'spawn' only then), so /proc already
 * shows the new binary and `isRunning` cannot mistake a just-forked child for a dead one.
 */
export async function startProcess(name: string, binary: string, args: string[], log: string, env: NodeJS.ProcessEnv = {}): Promise<ManagedProcess> {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(binary, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`could not start ${name} (${binary}): ${err.message}`)));
    });
    child.unref();
    return { name, pid: child.pid!, binary, log };
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` is alive and still runs `binary` (pids get reused after a crash or reboot). */
export function isRunning(proc: Pick<ManagedProcess, 'pid' | 'binary'>): boolean {
  try {
    const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8');
    if (!cmdline.startsWith(proc.binary)) return false;
    const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    // Field 3 is the state; a zombie has exited and only waits to be reaped.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits up to `timeoutMs` for any of `procs` to stop running; returns those that did (none: all still run). */
export async function waitForExit<P extends Pick<ManagedProcess, 'pid' | 'binary'>>(procs: readonly P[], timeoutMs: number): Promise<P[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = procs.filter((p) => !isRunning(p));
    if (gone.length > 0 || Date.now() >= deadline) return gone;
    await sleep(50);
  }
}

/** Stops a process: SIGTERM, then SIGKILL after `graceMs`. Resolves once it is gone. */
export async function stopProcess(proc: ManagedProcess, graceMs = 5000): Promise<void> {
  if (!isRunning(proc)) return;
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isRunning(proc) && Date.now() < deadline) await sleep(50);
  if (isRunning(proc)) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      return;
    }
    while (isRunning(proc)) await sleep(50);
  }
}

/** The last lines of a component's log, for error messages when it fails to start. */
export function tailLog(log: string, lines = 15): string {
  try {
    return readFileSync(log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
