import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../unit/cli/run-cli.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';
import { Exporter, Nginx, Prometheus, VersionServer } from '../support/peers.js';
import { StatusWriter } from '../../../src/status/index.js';
import type { PostCheckResult } from '../../../src/hooks/index.js';
import type { PromotionResult } from '../../../src/promote/types.js';
import { RelaySetup, applyPrimary, cleanupDrNamespace, deleteDrNamespaces, rolloutApp, waitComplete } from '../promote/support.js';
import { colourRouting, noColourRouting, OLD } from './support.js';

const SMOKE_JOB = [
  'apiVersion: batch/v1', 'kind: Job', 'spec:', '  backoffLimit: 0', '  template:', '    spec:', '      restartPolicy: Never',
  '      containers: [{name: smoke, image: "registry.example/smoke:1", args: ["--expect={{podTemplateHash}}", "--target={{target}}"]}]', '',
].join('\n');

/**
 * A whole promotion (export, bundle, sign, verify, apply, health, post-hooks, prune) with one hook
 * of each type, every peer real: nginx in front of the DR versions, Prometheus scraping their
 * counters, and a Job in the DR sandbox.
 */
describe('hooks: a full promotion with traffic-colour, Prometheus and Job hooks', function () {
  this.timeout(300_000);
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((s) => s()));
    await deleteDrNamespaces(); // the promotion created the namespace in DR from the signed bundle
  });

  it('all three pass → completed, post_checks holds three results naming the promoted revision; hooks run re-checks DR and fails once the colour route is gone', async () => {
    const ns = await freshNamespace('rr-hooks-promo', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(rolloutApp(ns, 'checkout', 'registry.example/checkout:1.0'));
    const hash = await waitComplete('Rollout', ns, 'checkout', 'registry.example/checkout:1.0');

    // The DR side's entry point and metrics for the version being promoted.
    const oldV = await VersionServer.start(OLD);
    const newV = await VersionServer.start(hash);
    const nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: OLD, to: 'old' }, { colour: hash, to: 'new' }]));
    const exporter = await Exporter.start({ [hash]: { rps: 50, errorRatio: 0 }, [OLD]: { rps: 50, errorRatio: 0.2 } });
    const prom = await Prometheus.start([exporter.target]);
    stops.push(() => nginx.stop(), () => prom.stop(), () => exporter.stop(), () => oldV.stop(), () => newV.stop());
    await prom.waitScraped(3);

    const setup = new RelaySetup({ extra: { hooks: [
          { name: 'colour', type: 'traffic-colour', url: `${nginx.url}/orders`, header: { name: 'x-traffic-color', value: '{{podTemplateHash}}' }, expect: { header: 'x-version', value: '{{podTemplateHash}}' }, requests: 50, minShare: 1.0, timeout: '20s' },
          {
            name: 'errors', type: 'prometheus', url: prom.url, pass: '< 0.005', noData: 'fail', timeout: '20s', interval: '500ms',
            query: 'sum by (version) (rate(http_requests_total{code=~"5..",version="{{podTemplateHash}}"}[5s])) / sum by (version) (rate(http_requests_total{version="{{podTemplateHash}}"}[5s]))',
          },
          { name: 'smoke', type: 'job', template: 'smoke-job.yaml', timeout: '60s' },
    ] } });
    writeFileSync(join(setup.dir, 'smoke-job.yaml'), SMOKE_JOB);

    const r = await runCli(['promote', `${ns}/checkout`, '--config', setup.configPath, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const result = JSON.parse(r.stdout) as PromotionResult;
    assert.deepEqual(result.targets.map((t) => t.state), ['completed'], JSON.stringify(result.targets));
    assert.equal(result.podTemplateHash, hash);

    const st = (await new StatusWriter(kubeConfig('dr'), `${ns}/checkout`).read())!.record;
    assert.equal(st.state, 'completed');
    assert.equal(st.podTemplateHash, hash);
    const checks = st.postChecks as PostCheckResult[];
    assert.deepEqual(checks.map((c) => [c.name, c.type, c.passed]), [['colour', 'traffic-colour', true], ['errors', 'prometheus', true], ['smoke', 'job', true]], JSON.stringify(checks));
    for (const c of checks) assert.equal(c.revision, result.revision, `${c.name} names the promoted revision`);
    assert.equal(checks[0]!.observed, '1.000 (50/50)');
    assert.ok(typeof st.phaseDurations['post-checks'] === 'number');

    // Operators and drills: the same hooks against what DR runs now.
    const dotenv = join(setup.dir, 'hooks.env');
    const again = await runCli(['hooks', 'run', `${ns}/checkout`, '--config', setup.configPath, '--target', 'shenzhen', '--json', '--dotenv', dotenv]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(readFileSync(dotenv, 'utf8'), /^HOOKS_PASSED=true$[\s\S]*^HOOK_SMOKE=passed$/m);
    const report = JSON.parse(again.stdout) as { podTemplateHash: string; revision: string; passed: boolean; postChecks: PostCheckResult[] };
    assert.equal(report.podTemplateHash, hash);
    assert.equal(report.passed, true);
    assert.deepEqual(report.postChecks.map((c) => [c.name, c.passed]), [['colour', true], ['errors', true], ['smoke', true]]);

    // The header route vanishes (argo-rollouts#4486): everything still reaches the new version, yet the gate fails.
    await nginx.reload(noColourRouting(newV.port));
    const gone = await runCli(['hooks', 'run', `${ns}/checkout`, '--config', setup.configPath, '--target', 'shenzhen', '--hook', 'colour']);
    assert.equal(gone.code, 1, gone.stderr);
    assert.match(gone.stderr, /^error HOOK_FAILED: 1 of 1 hook\(s\) failed: colour/m);
    assert.match(gone.stdout, /FAIL\s+colour\s+traffic-colour\s+colour not routed/);
  });
});
