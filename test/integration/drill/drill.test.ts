import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRelayConfig } from '../../../src/config/load.js';
import { Promoter } from '../../../src/promote/index.js';
import { componentRunning } from '../../../src/sandbox/restart.js';
import { CUT_RECORD, recoverSandboxCut } from '../../../src/drill/cuts.js';
import { kubeConfig, sandbox } from '../support/sandbox.js';
import { applyPrimary, closedPort, drStatus, rolloutApp, waitComplete } from '../promote/support.js';
import { DrillSetup, runDrill, sandboxHealthy } from './support.js';

/**
 * `rollout-relay drill` on the real sandbox: the cut stops primary's kube-apiserver process (the
 * test sandbox's own: every test here leaves it healthy again, /readyz, and checks that no cut
 * record is left behind). Timing is judged only against the generous SLA (100 s).
 */
describe('drill: DR failover drills on the real sandbox', function () {
  this.timeout(300_000);
  // Signed with release.key and other.key; the trust policy trusts only release.key: DR verifies one signature.
  const drill = DrillSetup.forSuite({ namespacePrefix: 'rr-drill', app: 'checkout', setup: { extra: { signing: { keys: ['release.key', 'other.key'] } } } });
  const reports = (name: string) => mkdtempSync(join(tmpdir(), `rr-drill-${name}-`));

  it('DR in sync: every step passes, RTO measured under the SLA, RPO 0, the JSON report matches its schema, primary is back', async () => {
    const scenario = drill.setup.scenario('in-sync', { applications: [`${drill.ns}/checkout`], objectives: { rto: '60s', rpo: 0 } });
    const dir = reports('sync');
    const r = await runDrill(scenario, dir, { formats: 'json,md,junit,html' });
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    const report = r.report!;
    assert.equal(report.verdict, 'pass', report.reason);
    assert.deepEqual(report.steps.map((s) => [s.name, s.result]), [['promote', 'pass'], ['cut-primary', 'pass'], ['verify-dr', 'pass'], ['failback', 'pass']]);
    assert.ok(report.rtoSeconds !== null && report.rtoSeconds >= 0 && report.rtoSeconds < report.sla.seconds, `RTO ${report.rtoSeconds}`);
    assert.deepEqual(report.rpo, { releases: 0, seconds: 0 });
    assert.equal(report.cut.type, 'sandbox');
    assert.ok(report.cut.at && report.cut.undoneAt && Date.parse(report.cut.undoneAt) >= Date.parse(report.cut.at));
    const target = report.applications[0]!.targets[0]!;
    const status = await drStatus(`${drill.ns}/checkout`);
    assert.equal(target.bundleDigest, status!.bundleDigest);
    assert.equal(target.hotUpdateStatus, 'completed');
    // Proof: the key ids DR recorded as verified (not the config's signing keys, which include other.key).
    assert.deepEqual(status!.keyIds, [drill.setup.releaseKeyId]);
    assert.deepEqual(target.keyIds, [drill.setup.releaseKeyId]);
    assert.equal(report.applications[0]!.primaryRevision, '1');
    // --json printed the same report on stdout.
    assert.equal((JSON.parse(r.stdout) as { verdict: string }).verdict, 'pass');
    // JUnit for CI: well-formed, one case per step plus the objectives and the verdict, none failed.
    const xml = readFileSync(join(dir, 'drill-report.xml'), 'utf8');
    assert.equal(XMLValidator.validate(xml), true);
    const suite = (new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => n === 'testcase' }).parse(xml) as { testsuites: { testsuite: { failures: string; testcase: { name: string; failure?: unknown }[] } } }).testsuites.testsuite;
    assert.equal(suite.failures, '0');
    assert.deepEqual(suite.testcase.slice(0, 4).map((c) => c.name), ['1. promote', '2. cut-primary', '3. verify-dr', '4. failback']);
    assert.ok(suite.testcase.some((c) => c.name === 'verdict: pass'));
    assert.match(readFileSync(join(dir, 'drill-report.md'), 'utf8'), /pass/i);
    assert.match(readFileSync(join(dir, 'drill-report.html'), 'utf8'), /<svg/);
    // The drill's progress went to stderr as plain lines (not a TTY).
    assert.match(r.stderr, /primary is cut off; SLA 100 s starts now/);
  });

  it('DR stale (the last promotion failed): the drill fails with RPO 1 release and the seconds behind, and the verdict says why', async () => {
    // Release 2 in primary; its promotion fails in DR (the smoke Job's pod fails) and is rolled back.
    writeFileSync(join(drill.setup.dir, 'smoke-fail.yaml'), [
      'apiVersion: batch/v1', 'kind: Job', 'spec:', '  backoffLimit: 0', '  template:', '    metadata:', '      annotations:',
      '        rollout-relay.io/kwok-fail: "true"', '    spec:', '      restartPolicy: Never', '      containers:', '        - {name: smoke, image: "registry.example/smoke:1"}', '',
    ].join('\n'));
    const failing = drill.setup.config('relay-failing-hook.yaml', { hooks: [{ name: 'smoke', type: 'job', template: 'smoke-fail.yaml', timeout: '60s' }] });
    await applyPrimary(rolloutApp(drill.ns, 'checkout', 'registry.example/checkout:2'));
    await waitComplete('Rollout', drill.ns, 'checkout', 'registry.example/checkout:2');
    const failed = await new Promoter(loadRelayConfig(failing), { primary: kubeConfig('primary') }).promote({ workload: { kind: 'Rollout', namespace: drill.ns, name: 'checkout' } });
    assert.equal(failed.targets[0]!.state, 'rolled-back', failed.targets[0]!.message);
    const before = await drStatus(`${drill.ns}/checkout`);
    assert.equal(before!.lastCompleted?.revision, '1');

    const scenario = drill.setup.scenario('stale', { applications: [`${drill.ns}/checkout`], objectives: { rpo: 0 } });
    const r = await runDrill(scenario, reports('stale'));
    assert.equal(r.code, 1, `${r.stderr}\n${r.stdout}`);
    const report = r.report!;
    assert.equal(report.verdict, 'fail');
    assert.equal(report.rpo!.releases, 1);
    assert.ok(report.rpo!.seconds > 0, `seconds behind: ${report.rpo!.seconds}`);
    assert.match(report.reason, /RPO 1 release\(s\) \(DR [\d.]+ s behind primary\) exceeds the objective of 0: the last promotion of .*\/checkout to shenzhen \(sequence \d+, revision 2\) ended rolled-back ROLLED_BACK/);
    const promote = report.steps.find((s) => s.name === 'promote')!;
    assert.match(promote.message, /1 release\(s\) behind .*DR serves revision 1, primary 2.*ended rolled-back ROLLED_BACK/);
    // The promote step brought DR up to date: after the cut DR serves release 2 (RTO measured).
    assert.equal(report.steps.find((s) => s.name === 'verify-dr')!.result, 'pass');
    assert.equal(report.applications[0]!.targets[0]!.revision, '2');
    assert.ok(report.rtoSeconds !== null && report.rtoSeconds < report.sla.seconds);
  });

  it('SIGINT while primary\'s API server is stopped: the drill undoes the cut before it exits, primary is healthy, and a second drill passes', async () => {
    // A post-hook that cannot answer (Prometheus on a closed port) keeps verify-dr busy while primary is cut off.
    const port = await closedPort();
    const slow = drill.setup.config('relay-slow-hook.yaml', { hooks: [{ name: 'errors', type: 'prometheus', url: `http://127.0.0.1:${port}`, query: 'vector(0)', pass: '< 1', timeout: '90s' }] });
    const scenario = drill.setup.scenario('interrupted', { applications: [`${drill.ns}/checkout`] }, slow);
    let sent = false;
    let stoppedWhenSent = false;
    const r = await runDrill(scenario, reports('sigint'), {
      onStderr: (text, child) => {
        if (sent || !/primary is cut off/.test(text)) return;
        sent = true;
        stoppedWhenSent = !componentRunning(sandbox().dir, 'primary', 'kube-apiserver') && existsSync(join(sandbox().dir, CUT_RECORD));
        child.kill('SIGINT');
      },
    });
    assert.ok(sent, `the drill never cut primary off:\n${r.stderr}`);
    assert.ok(stoppedWhenSent, 'primary\'s kube-apiserver was running when SIGINT was sent');
    assert.equal(r.code, 1, r.stderr);
    const report = r.report!;
    assert.equal(report.verdict, 'fail');
    assert.match(report.reason, /^interrupted: SIGINT; the cut was undone/);
    assert.ok(report.cut.undoneAt !== null);
    assert.deepEqual(report.steps.map((s) => [s.name, s.result]), [['promote', 'pass'], ['cut-primary', 'pass'], ['verify-dr', 'fail'], ['failback', 'skipped']]);
    assert.match(r.stderr, /SIGINT: stopping the drill .*the cut is undone before it exits/);

    await sandboxHealthy();
    const again = await runDrill(drill.setup.scenario('after-sigint', { applications: [`${drill.ns}/checkout`] }), reports('again'));
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.report!.verdict, 'pass', again.report!.reason);
  });
  it('a drill killed with SIGKILL while primary is cut off leaves a cut record; the next drill undoes that cut first and passes', async () => {
    const port = await closedPort();
    const slow = drill.setup.config('relay-slow-hook-2.yaml', { hooks: [{ name: 'errors', type: 'prometheus', url: `http://127.0.0.1:${port}`, query: 'vector(0)', pass: '< 1', timeout: '90s' }] });
    let killed = false;
    try {
      const r = await runDrill(drill.setup.scenario('killed', { applications: [`${drill.ns}/checkout`] }, slow), reports('killed'), {
        onStderr: (text, child) => {
          if (killed || !/primary is cut off/.test(text)) return;
          killed = true;
          child.kill('SIGKILL');
        },
      });
      assert.ok(killed, `the drill never cut primary off:\n${r.stderr}`);
      assert.equal(r.report, undefined);
      // Nothing undid the cut: primary's API server is down and the record says how to bring it back.
      assert.equal(componentRunning(sandbox().dir, 'primary', 'kube-apiserver'), false);
      assert.ok(existsSync(join(sandbox().dir, CUT_RECORD)));

      const next = await runDrill(drill.setup.scenario('after-kill', { applications: [`${drill.ns}/checkout`] }), reports('after-kill'));
      assert.match(next.stderr, /undoing the cut an interrupted drill left in .* \(primary kube-apiserver stopped at /);
      assert.equal(next.code, 0, next.stderr);
      assert.equal(next.report!.verdict, 'pass', next.report!.reason);
    } finally {
      // Whatever happened above, the shared sandbox's primary must be back for the next tests.
      await recoverSandboxCut(sandbox().dir, () => undefined);
    }
  });
});
