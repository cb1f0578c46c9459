import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeBundleFile } from '../../../src/bundle/index.js';
import { freshNamespace, sandbox } from '../support/sandbox.js';

const run = promisify(execFile);

/**
 * The bundle is plain tooling-friendly data: GNU tar unpacks it, and the real kubectl accepts its
 * manifests as they are, round-tripping from `kubectl get -o yaml` of live objects.
 */
describe('bundle: interop with the real kubectl and GNU tar', () => {
  it('exports live objects with kubectl, bundles them, and kubectl server-side applies the unpacked manifests to DR', async () => {
    const ns = await freshNamespace('rr-interop');
    const kubectl = (...args: string[]) => run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, ...args], { maxBuffer: 16 << 20 });
    const dir = mkdtempSync(join(tmpdir(), 'rr-interop-'));
    writeFileSync(join(dir, 'in.yaml'), [
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ${ns}}\ndata: {mode: "on", "yes": "no"}`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ${ns}}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: ${ns}}\nspec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "registry.example/web:1"}]}}}`,
    ].join('\n---\n'));
    await kubectl('--context', 'primary', 'apply', '--server-side', '-f', join(dir, 'in.yaml'));

    // Export what is live in primary with kubectl itself: status, uid, clusterIP and friends included.
    const { stdout } = await kubectl('--context', 'primary', '-n', ns, 'get', 'configmap/settings', 'service/web', 'deployment/web', '-o', 'json');
    const live = (JSON.parse(stdout) as { items: unknown[] }).items;
    const bundlePath = join(dir, 'web.bundle.tar');
    const created = await writeBundleFile(bundlePath, live, { source: { cluster: 'shanghai', namespace: ns, kind: 'Deployment', name: 'web' } });
    assert.equal(created.objects.length, 3);

    // GNU tar unpacks it (no absolute paths, no links), and kubectl applies exactly those files.
    const out = join(dir, 'unpacked');
    mkdirSync(out);
    await run('tar', ['-xf', bundlePath, '-C', out]);
    const files = readdirSync(join(out, 'manifests')).sort();
    assert.equal(files.length, 3);
    await kubectl('--context', 'dr', 'apply', '--server-side', '--field-manager', 'interop-test', '-f', join(out, 'manifests'));
    const { stdout: drCm } = await kubectl('--context', 'dr', '-n', ns, 'get', 'configmap', 'settings', '-o', 'jsonpath={.data}');
    assert.deepEqual(JSON.parse(drCm), { mode: 'on', yes: 'no' });
    // The primary's service IP stayed behind; DR allocated its own from its own range.
    const { stdout: ip } = await kubectl('--context', 'dr', '-n', ns, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}');
    assert.match(ip, /^10\.112\./);
    const { stdout: rs } = await kubectl('--context', 'dr', '-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=60s');
    assert.match(rs, /successfully rolled out/);
  });
});
