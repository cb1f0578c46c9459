import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { writeBundleFile } from '../../../src/bundle/index.js';
import { ApplicationExporter } from '../../../src/export/index.js';
import { judgeCompletion } from '../../../src/promote/completion.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { generateSigningKeyPair, keySigner, privateKeyPem, publicKeyPem } from '../../../src/signing/index.js';
import { signBundleFile } from '../../../src/verify/index.js';
import { GitHubFixtureServer, recorded } from '../../helpers/github-fixture-server.js';
import { GitHubOpenApi } from '../../helpers/github-openapi.js';
import { kubeConfig, sandbox } from '../support/sandbox.js';

const BIN = new URL('../../../src/cli/bin.ts', import.meta.url).pathname;
const COMMIT = '0000000000000000000000000000000000000001'; // the create-status recording's commit

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', BIN, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('GitHub reporting on a real promotion: promote --bundle with config github: (recorded GitHub answers)', function () {
  this.timeout(300_000);
  const ns = `rr-ghrep-${Date.now().toString(36)}`;
  let gh: GitHubFixtureServer;
  let dir: string;

  before(async () => {
    gh = await GitHubFixtureServer.start();
    dir = mkdtempSync(join(tmpdir(), 'rr-ghrep-'));
    await kubeConfig('primary').makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns, labels: { 'rollout-relay.io/test': 'true' } } } });
  });
  after(async () => {
    await gh?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const ctx of ['primary', 'dr'] as const) {
      await kubeConfig(ctx).makeApiClient(CoreV1Api).deleteNamespace({ name: ns, propagationPolicy: 'Background' }).catch(() => undefined);
    }
  });

  it('sets the commit status rollout-relay/dr-shenzhen (success) and a dr-shenzhen deployment, valid per GitHub\'s OpenAPI', async () => {
    const sel = { app: 'ledger' };
    const objects = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ledger', namespace: ns }, spec: { replicas: 2, selector: { matchLabels: sel }, template: { metadata: { labels: sel }, spec: { containers: [{ name: 'ledger', image: 'registry.example/ledger:1' }] } } } },
    ] as KubernetesObject[];
    await serverSideApply(kubeConfig('primary'), objects.slice(1));
    const exporter = new ApplicationExporter(kubeConfig('primary'));
    let hash = '';
    await waitFor('primary: ledger complete', async () => {
      const w = await exporter.readWorkload({ kind: 'Deployment', namespace: ns, name: 'ledger' });
      const c = judgeCompletion(w as never, await exporter.deploymentPodTemplateHash(w));
      hash = c.podTemplateHash;
      return c.complete;
    }, { timeoutMs: 120_000, intervalMs: 250 });

    const release = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(dir, 'release.key'), privateKeyPem(release.privateKey), { mode: 0o600 });
    writeFileSync(join(dir, 'release.pub'), publicKeyPem(release.publicKey));
    writeFileSync(join(dir, 'trust-policy.yaml'), stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'release', publicKey: 'release.pub' }] }));
    writeFileSync(join(dir, 'relay.yaml'), stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig',
      source: { cluster: 'shanghai', context: 'primary', kubeconfig: sandbox().kubeconfig },
      signing: { keys: ['release.key'] }, trustPolicy: 'trust-policy.yaml',
      targets: [{ name: 'shenzhen', context: 'dr', kubeconfig: sandbox().kubeconfig }],
      github: { repo: 'octokit-fixture-org/create-status', tokenEnv: 'RR_TEST_GITHUB_TOKEN', deployments: true },
    }));
    const bundle = join(dir, 'ledger.bundle.tar');
    const created = await writeBundleFile(bundle, objects, {
      source: { cluster: 'shanghai', namespace: ns, kind: 'Deployment', name: 'ledger', revision: '1', podTemplateHash: hash, commit: COMMIT },
      application: `${ns}/ledger`, sequence: 1, targets: ['shenzhen'],
    });
    await signBundleFile({ bundlePath: bundle, signers: [keySigner(release.privateKey)] });

    const openapi = GitHubOpenApi.load();
    const headers = recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/').headers;
    gh.serve(recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/'))
      .answer('POST', /\/deployments$/, () => ({ scope: 'https://api.github.com:443', method: 'post', path: '', status: 201, headers, response: openapi.example('POST', '/repos/{owner}/{repo}/deployments', 201) }))
      .answer('POST', /\/deployments\/\d+\/statuses$/, () => ({ scope: 'https://api.github.com:443', method: 'post', path: '', status: 201, headers, response: openapi.example('POST', '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses', 201) }));

    const r = await cli(['promote', `${ns}/ledger`, '--config', join(dir, 'relay.yaml'), '--bundle', bundle, '--json'], {
      PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_API_URL: gh.apiUrl, RR_TEST_GITHUB_TOKEN: 'test-token-1',
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { bundleDigest: string; commit: string; github: { commit: string; targets: { context: string; state: string; statusId?: number; deploymentId?: number; code?: string }[] }[] };
    assert.equal(out.bundleDigest, `sha256:${created.digest}`);
    assert.equal(out.commit, COMMIT);
    assert.deepEqual(out.github.map((g) => g.targets.map((t) => [t.context, t.state, t.code])), [[['rollout-relay/dr-shenzhen', 'success', undefined]]]);
    assert.equal(typeof out.github[0]!.targets[0]!.deploymentId, 'number');

    const [status, deployment, dstatus] = gh.received;
    assert.equal(status!.path, `/repos/octokit-fixture-org/create-status/statuses/${COMMIT}`);
    assert.equal(status!.headers.authorization, 'token test-token-1');
    const sbody = JSON.parse(status!.body) as { state: string; context: string; description: string };
    assert.deepEqual([sbody.state, sbody.context], ['success', 'rollout-relay/dr-shenzhen']);
    assert.match(sbody.description, new RegExp(`^completed sha256:${created.digest.slice(0, 12)} in \\d+\\.\\d s$`));
    openapi.checkRequest('POST', '/repos/{owner}/{repo}/statuses/{sha}', sbody);
    const dbody = JSON.parse(deployment!.body) as { ref: string; environment: string };
    openapi.checkRequest('POST', '/repos/{owner}/{repo}/deployments', dbody);
    assert.deepEqual([dbody.ref, dbody.environment], [COMMIT, 'dr-shenzhen']);
    openapi.checkRequest('POST', '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses', JSON.parse(dstatus!.body));
    assert.doesNotMatch(r.stderr + r.stdout, /test-token-1/);
  });
});
