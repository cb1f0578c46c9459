import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, startProcess, stopProcess, tailLog, waitForExit } from '../../../src/sandbox/processes.js';
import { freePorts } from '../../../src/sandbox/ports.js';
import { waitFor } from '../../../src/sandbox/http.js';

describe('sandbox processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rr-proc-'));

  it('starts a detached process with its output in a log, and stops it', async () => {
    const log = join(dir, 'sh.log');
    const proc = await startProcess('sh', '/bin/sh', ['-c', 'echo started; while :; do sleep 0.2; done'], log);
    assert.ok(isRunning(proc));
    // The child writes on its own schedule; on a loaded machine that can take a while.
    await waitFor('log line', async () => readFileSync(log, 'utf8').includes('started'), { timeoutMs: 10_000, intervalMs: 20 });
    await stopProcess(proc);
    assert.equal(isRunning(proc), false);
  });

  it('refuses a binary that cannot be started, naming it', async () => {
    await assert.rejects(startProcess('ghost', '/nonexistent/ghost', [], join(dir, 'ghost.log')), /could not start ghost \(\/nonexistent\/ghost\): .*ENOENT/);
  });

  it('does not mistake a reused pid running another program for ours', () => {
    assert.equal(isRunning({ pid: process.pid, binary: '/usr/local/bin/etcd' }), false);
    assert.equal(isRunning({ pid: 2 ** 22 + 7, binary: '/bin/sleep' }), false);
  });

  it('kills a process that ignores SIGTERM after the grace period', async () => {
    const proc = await startProcess('stubborn', '/bin/sh', ['-c', "trap '' TERM; while true; do sleep 0.1; done"], join(dir, 'stubborn.log'));
    await new Promise((r) => setTimeout(r, 100));
    await stopProcess(proc, 300);
    assert.equal(isRunning(proc), false);
  });

  it('waitForExit reports a SIGKILLed process as gone, and a live one not', async () => {
    const dying = await startProcess('dying', '/bin/sh', ['-c', 'while :; do sleep 0.1; done'], join(dir, 'dying.log'));
    const living = await startProcess('living', '/bin/sh', ['-c', 'while :; do sleep 0.1; done'], join(dir, 'living.log'));
    try {
      assert.deepEqual(await waitForExit([dying, living], 100), [], 'both run');
      process.kill(dying.pid, 'SIGKILL');
      assert.deepEqual((await waitForExit([dying, living], 10_000)).map((p) => p.name), ['dying']);
    } finally {
      await stopProcess(living);
    }
  });

  it('tails a log and copes with a missing one', () => {
    assert.equal(tailLog(join(dir, 'missing.log')), '(no log)');
  });

  it('hands out distinct free loopback ports', async () => {
    const ports = await freePorts(8);
    assert.equal(new Set(ports).size, 8);
    for (const p of ports) assert.ok(p > 1024 && p < 65536);
  });
});
