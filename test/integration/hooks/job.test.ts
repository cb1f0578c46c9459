import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, type V1ConfigMap, type V1Deployment } from '@kubernetes/client-node';
import { parse as parseYaml, stringify } from 'yaml';
import { readFileSync } from 'node:fs';
import { isRelayError } from '../../../src/errors.js';
import type { ApplyError } from '../../../src/apply/index.js';
import { loadRelayConfig } from '../../../src/config/load.js';
import { Promoter } from '../../../src/promote/index.js';
import { StatusWriter } from '../../../src/status/index.js';
import type { PostCheckResult } from '../../../src/hooks/index.js';
import { freshNamespace, kubeConfig } from '../support/sandbox.js';
import { Release, configMap, deployment, live, rv } from '../apply/support.js';
import { hookContext, hooks } from './support.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { RelaySetup, applyPrimary, cleanupDrNamespace, deleteDrNamespaces, rolloutApp, waitComplete } from '../promote/support.js';

/** Job hooks in the real DR sandbox: kwok completes Job pods, and fails those marked rollout-relay.io/kwok-fail. */
const dir = mkdtempSync(join(tmpdir(), 'rr-job-hooks-'));
const template = (fail: boolean): string => [
  'apiVersion: batch/v1', 'kind: Job', 'metadata:', '  labels: {purpose: smoke}', 'spec:', '  backoffLimit: 0', '  template:', '    metadata:',
  ...(fail ? ['      annotations:', '        rollout-relay.io/kwok-fail: "true"', '        rollout-relay.io/kwok-fail-message: "smoke test: GET /orders returned 503"'] : ['      annotations: {}']),
  '    spec:', '      restartPolicy: Never',
  '      containers:', '        - name: smoke', '          image: "registry.example/smoke:1"', '          args: ["--app={{application}}", "--expect={{podTemplateHash}}"]', '',
].join('\n');
writeFileSync(join(dir, 'smoke-ok.yaml'), template(false));
writeFileSync(join(dir, 'smoke-fail.yaml'), template(true));

const jobHook = (file: string, extra: Record<string, unknown> = {}): unknown => ({ name: 'smoke', type: 'job', template: file, timeout: '60s', ...extra });

const release = new Release();

describe('hooks: Job hooks in the real DR cluster', () => {
  it('a Job that completes → pass; it is named per revision, labelled like applied objects, and replaces the previous revision\'s Job', async () => {
    const ns = await freshNamespace('rr-job', ['dr']);
    const ctx = hookContext({ namespace: ns, application: `${ns}/web`, app: 'web', kubeConfig: kubeConfig('dr'), podTemplateHash: 'aaa111', revision: '1' });
    const runner = hooks([jobHook('smoke-ok.yaml')], dir);
    const [r] = await runner.run(ctx);
    assert.equal(r!.passed, true, r!.message);
    assert.equal(r!.type, 'job');
    assert.equal(r!.observed, 'Complete');
    assert.equal(r!.revision, '1');
    const batch = kubeConfig('dr').makeApiClient(BatchV1Api);
    const job = await batch.readNamespacedJob({ name: 'smoke-aaa111', namespace: ns });
    assert.equal(job.metadata?.labels?.['app.kubernetes.io/managed-by'], 'rollout-relay');
    assert.equal(job.metadata?.labels?.['rollout-relay.io/hook'], 'smoke');
    assert.equal(job.metadata?.labels?.purpose, 'smoke');
    assert.equal(job.metadata?.annotations?.['rollout-relay.io/application'], `${ns}/web`);
    assert.deepEqual(job.spec?.template.spec?.containers[0]?.args, [`--app=${ns}/web`, '--expect=aaa111']);

    const [next] = await runner.run({ ...ctx, podTemplateHash: 'bbb222', revision: '2', deadline: Date.now() + 60_000 });
    assert.equal(next!.passed, true, next!.message);
    const names = (await batch.listNamespacedJob({ namespace: ns })).items.filter((j) => !j.metadata?.deletionTimestamp).map((j) => j.metadata?.name);
    assert.deepEqual(names, ['smoke-bbb222']);
    // Running the same revision again (hooks run, a drill) starts a fresh Job instead of reading the old verdict.
    const firstUid = (await batch.readNamespacedJob({ name: 'smoke-bbb222', namespace: ns })).metadata?.uid;
    const [again] = await runner.run({ ...ctx, podTemplateHash: 'bbb222', revision: '2', deadline: Date.now() + 60_000 });
    assert.equal(again!.passed, true, again!.message);
    assert.notEqual((await batch.readNamespacedJob({ name: 'smoke-bbb222', namespace: ns })).metadata?.uid, firstUid);
  });

  it('a Job that fails → fail with the pod\'s termination message; kwok has no logs and the result says so', async () => {
    const ns = await freshNamespace('rr-job', ['dr']);
    const ctx = hookContext({ namespace: ns, application: `${ns}/web`, app: 'web', kubeConfig: kubeConfig('dr') });
    const [r] = await hooks([jobHook('smoke-fail.yaml')], dir).run(ctx);
    assert.equal(r!.passed, false, r!.message);
    assert.equal(r!.observed, 'Failed');
    assert.match(r!.message, /BackoffLimitExceeded/);
    assert.match(r!.message, /smoke exited 1 Error: smoke test: GET \/orders returned 503/);
    assert.match(r!.message, /no container logs available/);
  });

  it('a Job that does not finish in time → fail, and the Job is deleted', async () => {
    const ns = await freshNamespace('rr-job', ['dr']);
    // No node matches: the pod stays Pending.
    writeFileSync(join(dir, 'smoke-stuck.yaml'), template(false).replace('      restartPolicy: Never', '      restartPolicy: Never\n      nodeSelector: {rollout-relay.io/no-such-node: "true"}'));
    const ctx = hookContext({ namespace: ns, application: `${ns}/web`, app: 'web', kubeConfig: kubeConfig('dr') });
    const [r] = await hooks([jobHook('smoke-stuck.yaml', { timeout: '3s' })], dir).run(ctx);
    assert.equal(r!.passed, false);
    assert.equal(r!.observed, 'timeout');
    assert.match(r!.message, /did not complete within 3s/);
  });
});

describe('applier post-check point with real Job hooks', () => {
  async function applyWithHook(ns: string, file: string, onHookFailure?: 'rollback' | 'keep'): Promise<{ err?: unknown }> {
    const v1 = [configMap(ns, 'settings', { v: '1' }), deployment(ns, 'web', { replicas: 1, image: 'registry.example/web:1' })];
    await release.apply((await release.bundle(ns, 'web', 1, v1)).path);
    const v2 = [configMap(ns, 'settings', { v: '2' }), configMap(ns, 'added-by-v2', { v: '2' }), deployment(ns, 'web', { replicas: 1, image: 'registry.example/web:2' })];
    const b2 = await release.bundle(ns, 'web', 2, v2);
    const runner = hooks([jobHook(file)], dir);
    const ctx = hookContext({ namespace: ns, application: `${ns}/web`, app: 'web', kubeConfig: kubeConfig('dr'), revision: '2', podTemplateHash: 'ccc333' });
    try {
      await release.apply(b2.path, { postChecks: () => runner.run({ ...ctx, deadline: Date.now() + 60_000 }), ...(onHookFailure ? { onHookFailure } : {}) });
      return {};
    } catch (err) {
      return { err };
    }
  }

  it('a passing Job hook → completed, post_checks holds its result naming the revision', async () => {
    const ns = await freshNamespace('rr-hookpoint', ['dr']);
    const { err } = await applyWithHook(ns, 'smoke-ok.yaml');
    assert.equal(err, undefined);
    const status = (await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read())!.record;
    assert.equal(status.state, 'completed');
    const checks = status.postChecks as PostCheckResult[];
    assert.deepEqual(checks.map((c) => [c.name, c.type, c.passed, c.revision]), [['smoke', 'job', true, '2']]);
    assert.ok(typeof status.phaseDurations['post-checks'] === 'number');
    assert.equal(await rv(configMap(ns, 'added-by-v2', {})) !== undefined, true);
  });

  it('a failing Job hook → rolled-back: previous revision\'s objects back, the Job\'s message in the status', async () => {
    const ns = await freshNamespace('rr-hookpoint', ['dr']);
    const { err } = await applyWithHook(ns, 'smoke-fail.yaml');
    assert.ok(isRelayError(err, 'ROLLED_BACK'), String(err));
    assert.ok(isRelayError((err as Error).cause, 'HOOK_FAILED'));
    assert.equal(typeof (err as ApplyError).phaseDurations?.rollback, 'number', 'the error carries the rollback\'s duration');
    const status = (await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read())!.record;
    assert.equal(status.state, 'rolled-back');
    assert.match(status.message, /HOOK_FAILED: post-check failed: smoke \(job\)/);
    assert.match(status.message, /smoke test: GET \/orders returned 503/);
    const checks = status.postChecks as PostCheckResult[];
    assert.deepEqual(checks.map((c) => [c.name, c.passed, c.revision]), [['smoke', false, '2']]);
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns)).data?.v, '1');
    assert.equal(await rv(configMap(ns, 'added-by-v2', {})), undefined, 'what v2 added is gone');
    const d = await live<V1Deployment>('apps/v1', 'Deployment', 'web', ns);
    assert.equal(d.spec?.template.spec?.containers[0]?.image, 'registry.example/web:1');
  });

  it('onHookFailure: keep → status failed, DR left as applied', async () => {
    const ns = await freshNamespace('rr-hookpoint', ['dr']);
    const { err } = await applyWithHook(ns, 'smoke-fail.yaml', 'keep');
    assert.ok(isRelayError(err, 'HOOK_FAILED'), String(err));
    const status = (await new StatusWriter(kubeConfig('dr'), `${ns}/web`).read())!.record;
    assert.equal(status.state, 'failed');
    assert.match(status.message, /DR left as applied \(onHookFailure: keep\)/);
    assert.equal((await live<V1ConfigMap>('v1', 'ConfigMap', 'settings', ns)).data?.v, '2');
    assert.ok(await rv(configMap(ns, 'added-by-v2', {})));
    assert.equal(status.lastCompleted?.sequence, 1, 'the last completed bundle is still the one a later rollback returns to');
  });
});

describe('hook Jobs do not outlive their hook or their application', function () {
  this.timeout(300_000);
  afterEach(deleteDrNamespaces);
  const batch = () => kubeConfig('dr').makeApiClient(BatchV1Api);
  const liveJobs = async (ns: string) => (await batch().listNamespacedJob({ namespace: ns })).items.filter((j) => !j.metadata?.deletionTimestamp).map((j) => j.metadata!.name!).sort();

  it('a Job is owned by the application\'s status ConfigMap: deleting it (the application leaves DR) garbage-collects the Job', async () => {
    const ns = await freshNamespace('rr-job-owner', ['dr']);
    await new StatusWriter(kubeConfig('dr'), `${ns}/web`).update(1, { state: 'applying' });
    const status = await kubeConfig('dr').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-status-web', namespace: ns });
    const ctx = hookContext({ namespace: ns, application: `${ns}/web`, app: 'web', kubeConfig: kubeConfig('dr'), podTemplateHash: 'ddd444', revision: '1' });
    const [r] = await hooks([jobHook('smoke-ok.yaml')], dir).run(ctx);
    assert.equal(r!.passed, true, r!.message);
    const job = await batch().readNamespacedJob({ name: 'smoke-ddd444', namespace: ns });
    assert.deepEqual(job.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['ConfigMap', 'rollout-relay-status-web', status.metadata?.uid]]);

    await kubeConfig('dr').makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: 'rollout-relay-status-web', namespace: ns });
    await waitFor('the garbage collector deletes the Job of the removed application', async () => (await liveJobs(ns)).length === 0, { timeoutMs: 60_000, intervalMs: 250 });
  });

  it('a promotion rolled back by a failing Job hook reports its phases, the rollback among them, to the observer (metrics)', async () => {
    const ns = await freshNamespace('rr-job-phases', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new RelaySetup();
    writeFileSync(join(setup.dir, 'smoke-ok.yaml'), template(false));
    writeFileSync(join(setup.dir, 'smoke-fail.yaml'), template(true));
    const config = parseYaml(readFileSync(setup.configPath, 'utf8')) as Record<string, unknown>;
    const withHook = (file: string) => writeFileSync(setup.configPath, stringify({ ...config, hooks: [{ name: 'smoke', type: 'job', template: file, timeout: '60s' }] }));
    const promote = async () => {
      const phases: string[] = [];
      const promoter = new Promoter(loadRelayConfig(setup.configPath), { primary: kubeConfig('primary'), observer: { onPhase: (phase, _ms, labels) => { if (labels.target) phases.push(phase); } } });
      const result = await promoter.promote({ workload: { kind: 'Rollout', namespace: ns, name: 'web' } });
      return { target: result.targets[0]!, phases };
    };

    withHook('smoke-ok.yaml');
    await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:1'));
    await waitComplete('Rollout', ns, 'web', 'registry.example/web:1');
    const first = await promote();
    assert.equal(first.target.state, 'completed', first.target.message);

    withHook('smoke-fail.yaml');
    await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:2'));
    await waitComplete('Rollout', ns, 'web', 'registry.example/web:2');
    const second = await promote();
    assert.equal(second.target.state, 'rolled-back', second.target.message);
    for (const phase of ['apply', 'post-checks', 'rollback']) assert.ok(second.phases.includes(phase), `${phase} observed: ${second.phases.join(', ')}`);
  });

  it('a Job hook removed from the config: its Job is deleted by the next completed promotion; the remaining hook keeps its latest Job', async () => {
    const ns = await freshNamespace('rr-job-prune', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new RelaySetup();
    writeFileSync(join(setup.dir, 'smoke-ok.yaml'), template(false));
    const config = parseYaml(readFileSync(setup.configPath, 'utf8')) as Record<string, unknown>;
    const withHooks = (names: string[]) => writeFileSync(setup.configPath, stringify({ ...config, hooks: names.map((n) => ({ name: n, type: 'job', template: 'smoke-ok.yaml', timeout: '60s' })) }));

    withHooks(['smoke', 'load']);
    await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:1'));
    const h1 = await waitComplete('Rollout', ns, 'web', 'registry.example/web:1');
    const first = await setup.promoter().promote({ workload: { kind: 'Rollout', namespace: ns, name: 'web' } });
    assert.equal(first.targets[0]!.state, 'completed', first.targets[0]!.message);
    assert.deepEqual(await liveJobs(ns), [`load-${h1}`, `smoke-${h1}`]);

    withHooks(['smoke']);
    await applyPrimary(rolloutApp(ns, 'web', 'registry.example/web:2'));
    const h2 = await waitComplete('Rollout', ns, 'web', 'registry.example/web:2');
    const second = await setup.promoter().promote({ workload: { kind: 'Rollout', namespace: ns, name: 'web' } });
    assert.equal(second.targets[0]!.state, 'completed', second.targets[0]!.message);
    assert.deepEqual(await liveJobs(ns), [`smoke-${h2}`], 'the removed hook\'s Job is gone; the remaining hook\'s latest Job stays for debugging');
  });
});
