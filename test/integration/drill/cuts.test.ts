import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatusWriter } from '../../../src/status/writer.js';
import { kubeConfig } from '../support/sandbox.js';
import { readLive } from '../promote/support.js';
import { DrillSetup, runDrill } from './support.js';

/** The other cuts on the real sandbox (primary's API server keeps running): scale-to-zero and a user command; and the in-flight refusal. */
describe('drill: scale-to-zero and command cuts, and refusing while a promotion is in flight', function () {
  this.timeout(300_000);
  const drill = DrillSetup.forSuite({ namespacePrefix: 'rr-drill-cuts', app: 'web' });
  const reports = (name: string) => mkdtempSync(join(tmpdir(), `rr-drill-${name}-`));

  before(() => {
    // A user's cut and undo: scripts next to the scenario, logging their arguments.
    for (const [name, body] of [['cut.sh', 'echo "cut $1" >> "$(dirname "$0")/events.log"'], ['uncut.sh', 'echo "undo $1" >> "$(dirname "$0")/events.log"'], ['broken-cut.sh', 'echo "cut half-done" >> "$(dirname "$0")/events.log"; echo "fence: no route to primary" >&2; exit 3']]) {
      writeFileSync(join(drill.setup.dir, name!), `#!/bin/sh\n${body}\n`);
      chmodSync(join(drill.setup.dir, name!), 0o755);
    }
  });

  it('scale-to-zero: primary\'s Rollout goes to 0 replicas and back to exactly 2, same revision, nothing deleted; DR verified meanwhile', async () => {
    const before = await readLive<{ spec: { replicas: number }; metadata: { annotations: Record<string, string> } }>('primary', 'argoproj.io/v1alpha1', 'Rollout', drill.ns, 'web');
    const r = await runDrill(drill.setup.scenario('scale', { applications: [`${drill.ns}/web`], cut: { type: 'scale-to-zero' }, objectives: { rto: '60s', rpo: 0 } }), reports('scale'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report!.verdict, 'pass', r.report!.reason);
    assert.match(r.stderr, /scaled Rollout .*\/web in primary from 2 to 0 replicas/);
    assert.match(r.stderr, /restored Rollout .*\/web in primary to 2 replicas/);
    const after = await readLive<{ spec: { replicas: number }; metadata: { annotations: Record<string, string>; uid: string } }>('primary', 'argoproj.io/v1alpha1', 'Rollout', drill.ns, 'web');
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.uid, (before.metadata as { uid?: string }).uid);
    assert.equal(after.metadata.annotations['rollout.argoproj.io/revision'], before.metadata.annotations['rollout.argoproj.io/revision']);
    assert.ok(r.report!.rtoSeconds !== null && r.report!.rtoSeconds < r.report!.sla.seconds);
  });

  it('command: the user\'s argv runs without a shell (an argument with a space stays one), and the undo runs also without a failback step', async () => {
    const log = join(drill.setup.dir, 'events.log');
    writeFileSync(log, '');
    const r = await runDrill(drill.setup.scenario('command', {
      applications: [`${drill.ns}/web`], steps: ['cut-primary', 'verify-dr'],
      cut: { type: 'command', run: ['./cut.sh', 'zone a'], undo: "./uncut.sh 'zone a'" },
    }), reports('command'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report!.verdict, 'pass', r.report!.reason);
    assert.equal(readFileSync(log, 'utf8'), 'cut zone a\nundo zone a\n');
    assert.ok(r.report!.cut.undoneAt !== null);
  });

  it('a cut command that fails: cut-primary fails with its exit status and stderr, the rest is skipped, and the undo still runs', async () => {
    const log = join(drill.setup.dir, 'events.log');
    writeFileSync(log, '');
    const r = await runDrill(drill.setup.scenario('broken', { applications: [`${drill.ns}/web`], cut: { type: 'command', run: './broken-cut.sh', undo: './uncut.sh' } }), reports('broken'));
    assert.equal(r.code, 1, r.stderr);
    const steps = r.report!.steps;
    assert.deepEqual(steps.map((s) => [s.name, s.result]), [['promote', 'pass'], ['cut-primary', 'fail'], ['verify-dr', 'skipped'], ['failback', 'skipped']]);
    assert.match(steps[1]!.message, /CUT_FAILED: .*broken-cut\.sh exited with 3: fence: no route to primary/);
    assert.match(r.report!.reason, /cut-primary failed/);
    assert.equal(readFileSync(log, 'utf8'), 'cut half-done\nundo \n');
  });

  it('refuses to start while a promotion is in flight in DR (PROMOTION_IN_FLIGHT): nothing is cut, no report', async () => {
    const status = new StatusWriter(kubeConfig('dr'), `${drill.ns}/web`);
    const current = (await status.read())!.record;
    await status.update(current.sequence, { state: 'applying', message: 'a promotion is applying' });
    try {
      const dir = reports('in-flight');
      const r = await runDrill(drill.setup.scenario('in-flight', { applications: [`${drill.ns}/web`] }), dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /error PROMOTION_IN_FLIGHT: a promotion of .*\/web to shenzhen is in flight \(status applying/);
      assert.equal(r.report, undefined);
      assert.equal(existsSync(join(dir, 'drill-report.json')), false);
    } finally {
      await status.update(current.sequence, { state: 'completed', message: current.message });
    }
  });
});
