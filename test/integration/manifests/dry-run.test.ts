import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { deleteNamespaceAndWait, kubeConfig, sandbox } from '../support/sandbox.js';
import { useRealArgoCdCrds } from '../support/argocd.js';

const run = promisify(execFile);
const MANIFESTS = new URL('../../../manifests/', import.meta.url).pathname;

/** kubectl (the sandbox's own build) against a sandbox context; never throws, returns the outcome. */
async function kubectl(context: 'primary' | 'dr', args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', context, ...args], { maxBuffer: 16 << 20 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/**
 * `kubectl apply -k --dry-run=server` of both overlays on the real clusters, with real schemas:
 * Argo Rollouts' CRDs (ClusterAnalysisTemplate), Argo CD's (ApplicationSet) and
 * prometheus-operator's (PrometheusRule), and strict field validation, so a wrong field fails.
 */
describe('manifests: kubectl apply -k --dry-run=server on the sandbox', function () {
  this.timeout(120_000);
  let restoreCrds: (() => Promise<void>) | undefined;
  const namespaces: { context: 'primary' | 'dr'; name: string }[] = [];

  before(async () => {
    restoreCrds = await useRealArgoCdCrds(kubeConfig('primary'));
    // A dry run creates nothing, so the namespaces its objects live in must exist already.
    for (const [context, name] of [['primary', 'rollout-relay'], ['primary', 'argocd'], ['dr', 'rollout-relay']] as const) {
      const core = kubeConfig(context).makeApiClient(CoreV1Api);
      try {
        await core.createNamespace({ body: { metadata: { name } } });
        namespaces.push({ context, name });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    }
  });

  after(async () => {
    for (const { context, name } of namespaces) await deleteNamespaceAndWait(context, name);
    await restoreCrds?.();
  });

  it('primary overlay: every object accepted by the primary API server', async () => {
    const r = await kubectl('primary', ['apply', '-k', join(MANIFESTS, 'overlays/primary'), '--dry-run=server', '--validate=strict']);
    assert.equal(r.code, 0, r.out);
    for (const obj of [
      'namespace/rollout-relay', 'serviceaccount/rollout-relay', 'clusterrole.rbac.authorization.k8s.io/rollout-relay-primary-read',
      'role.rbac.authorization.k8s.io/rollout-relay', 'deployment.apps/rollout-relay', 'service/rollout-relay',
      'prometheusrule.monitoring.coreos.com/rollout-relay', 'clusteranalysistemplate.argoproj.io/rollout-relay-rpo-guard',
      'applicationset.argoproj.io/checkout-dr', 'configmap/rollout-relay-plugin',
    ]) assert.match(r.out, new RegExp(`${obj.replace(/[.]/g, '\\.')} (created|configured|unchanged) \\(server dry run\\)`), `${obj} in:\n${r.out}`);
  });

  it('dr overlay: every object accepted by the DR API server', async () => {
    const r = await kubectl('dr', ['apply', '-k', join(MANIFESTS, 'overlays/dr'), '--dry-run=server', '--validate=strict']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /clusterrole\.rbac\.authorization\.k8s\.io\/rollout-relay-dr-apply created \(server dry run\)/);
    assert.match(r.out, /secret\/rollout-relay-token created \(server dry run\)/);
    assert.doesNotMatch(r.out, /clusteranalysistemplate/, 'the RPO guard runs in primary only');
    assert.doesNotMatch(r.out, /deployment/);
  });

  it('the real schemas refuse a wrong field (the dry run can fail)', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'rr-manifests-'));
    try {
      cpSync(MANIFESTS, copy, { recursive: true });
      const rule = join(copy, 'monitoring/prometheusrule.yaml');
      writeFileSync(rule, readFileSync(rule, 'utf8').replace('      interval: 15s', '      interval: 15s\n      bogusField: 5s'));
      const appset = join(copy, 'argocd/applicationset.yaml');
      writeFileSync(appset, readFileSync(appset, 'utf8').replace('requeueAfterSeconds: 60', 'requeueAfterSeconds: "sixty"'));
      const r = await kubectl('primary', ['apply', '-k', join(copy, 'overlays/primary'), '--dry-run=server', '--validate=strict']);
      assert.notEqual(r.code, 0);
      assert.match(r.out, /bogusField/);
      assert.match(r.out, /requeueAfterSeconds/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
