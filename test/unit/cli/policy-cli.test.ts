import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, TEST_KEYS } from '../../helpers/bundle-fixtures.js';
import { runCli } from './run-cli.js';

const POLICY = `apiVersion: rollout-relay.io/v1
kind: TrustPolicy
# the release keys
scope:
  namespaces: [scope-shop]
keys:
  - name: ed
    publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}
    targets: [shenzhen]
  - name: ec
    publicKey: ${join(TEST_KEYS, 'test-ecdsa.pub')}
    scope: {namespaces: [scope-shop], namespaceResourceDeny: [{group: "", kind: Secret}]}
`;

const MANIFESTS = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: scope-shop}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: sneaky, namespace: kube-system}
data: {a: "1"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: app-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: app, namespace: scope-shop}]
`;

describe('CLI: policy scope and the scope check of bundle verify', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => {
    dir = tempDir();
    writeFileSync(join(dir.path, 'policy.yaml'), POLICY);
  });
  afterEach(() => dir.cleanup());

  it('policy scope --policy describes each key\'s effective scope, as text and JSON', async () => {
    const policy = join(dir.path, 'policy.yaml');
    const t = await runCli(['policy', 'scope', '--policy', policy, '--target', 'beijing']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^scope enforced; an object must be allowed by 1 of the signing keys; reserved: ConfigMap rollout-relay-\*, Secret rollout-relay-\*$/m);
    assert.match(t.stdout, /^ {2}ed \([0-9a-f]{16}\): does not count for target beijing; namespaces scope-shop; cluster kinds none/m);
    assert.match(t.stdout, /^ {2}ec \([0-9a-f]{16}\): namespaces scope-shop; .* \| narrowed by the key to: namespaces scope-shop; cluster kinds any; namespaced kinds denied core\/Secret$/m);
    const j = await runCli(['policy', 'scope', '--policy', policy, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const d = JSON.parse(j.stdout) as { keys: { key: string; counts: boolean }[] };
    assert.deepEqual(d.keys.map((k) => [k.key, k.counts]), [['ed', true], ['ec', true]]);
  });

  it('usage errors exit 2', async () => {
    for (const args of [['policy', 'scope'], ['policy', 'scope', '--from-appproject', 'not-a-ref', '--context', 'x'], ['policy', 'scope', '--policy', 'p.yaml', '--key', 'ed']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^error USAGE: /m);
    }
  });

  it('bundle verify --policy refuses the out-of-scope bundle with OUT_OF_SCOPE (exit 1), --key skips the check', async () => {
    const m = join(dir.path, 'm');
    mkdirSync(m);
    writeFileSync(join(m, 'app.yaml'), MANIFESTS);
    const bundle = join(dir.path, 'app.bundle.tar');
    const c = await runCli(['bundle', 'create', '--from', m, '--out', bundle, '--source-cluster', 'shanghai', '--namespace', 'scope-shop', '--name', 'app', '--sequence', '1', '--target', 'shenzhen']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal((await runCli(['bundle', 'sign', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.key')])).code, 0);
    const v = await runCli(['bundle', 'verify', '--bundle', bundle, '--policy', join(dir.path, 'policy.yaml'), '--target', 'shenzhen']);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /^error OUT_OF_SCOPE: 2 object\(s\) of scope-shop\/app are outside the trust policy's scope/m);
    assert.match(v.stderr, /^ {2}ConfigMap kube-system\/sneaky: namespace kube-system is outside scope's namespaces \(scope-shop\)$/m);
    assert.match(v.stderr, /^ {2}ClusterRoleBinding app-admin: cluster-scoped kind rbac\.authorization\.k8s\.io\/ClusterRoleBinding is not allowed/m);
    const k = await runCli(['bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.pub')]);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stdout, /scope NOT checked \(--key has no policy scope\)/);
  });
});
