import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, TEST_KEYS } from '../../helpers/bundle-fixtures.js';
import { runCli, runCliInProcess } from './run-cli.js';

const cli = runCliInProcess;

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 1234
  resourceVersion: "99"
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
status:
  readyReplicas: 2
`;

describe('CLI: keys and bundle', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => void };
  let m: string;
  const createArgs = (from: string, out: string, ...extra: string[]) => ['bundle', 'create', '--from', from, '--out', out, '--source-cluster', 'shanghai', '--namespace', 'shop', '--name', 'web', '--sequence', '3', '--target', 'shenzhen', '--created-at', '2026-01-01T00:00:00Z', '--expires-in', '876000h', ...extra];
  beforeEach(() => {
    dir = tempDir();
    m = join(dir.path, 'm');
    mkdirSync(m);
    writeFileSync(join(m, 'app.yaml'), MANIFESTS);
  });
  afterEach(() => dir.cleanup());

  it('keys generate writes a 0600 PKCS#8 key, an SPKI public key, an optional certificate, and prints the key id', async () => {
    const r = await cli('keys', 'generate', '--algorithm', 'ed25519', '--out-dir', join(dir.path, 'k'), '--name', 'signer', '--cert');
    assert.equal(r.code, 0, r.stderr);
    const keyId = r.stdout.trim();
    assert.match(keyId, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dir.path, 'k', 'signer.key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir.path, 'k', 'signer.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(readFileSync(join(dir.path, 'k', 'signer.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    const id = await cli('keys', 'id', join(dir.path, 'k', 'signer.crt'));
    assert.equal(id.stdout.trim(), `${keyId} ed25519`);
    const again = await cli('keys', 'generate', '--out-dir', join(dir.path, 'k'), '--name', 'signer');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^error USAGE: .*exists/);
  });

  it('bundle create is deterministic across shuffled copies with other mtimes and key order', async () => {
    const copy = join(dir.path, 'copy');
    mkdirSync(join(copy, 'nested'), { recursive: true });
    const [ns] = MANIFESTS.split('---\n');
    // other file layout and format, keys in another order, a different server-managed resourceVersion, old mtimes
    writeFileSync(join(copy, 'nested', '1.json'), JSON.stringify({ spec: { template: { spec: { containers: [{ image: 'nginx:1.27', name: 'web' }] } }, replicas: 2 }, metadata: { resourceVersion: '1', namespace: 'shop', name: 'web' }, kind: 'Deployment', apiVersion: 'apps/v1' }));
    writeFileSync(join(copy, '0.yml'), ns!);
    utimesSync(join(copy, '0.yml'), new Date(0), new Date(0));
    const a = await cli(...createArgs(m, join(dir.path, 'a.tar')));
    const b = await cli(...createArgs(copy, join(dir.path, 'b.tar')));
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.match(a.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(a.stdout, b.stdout);
    assert.ok(readFileSync(join(dir.path, 'a.tar')).equals(readFileSync(join(dir.path, 'b.tar'))));
  });

  it('create -> sign (2 keys) -> verify --policy with state -> replay refused; exit codes and summary', async () => {
    const bundle = join(dir.path, 'app.bundle.tar');
    assert.equal((await cli(...createArgs(m, bundle))).code, 0);
    const sign = await cli('bundle', 'sign', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ecdsa.key'), '--key', join(TEST_KEYS, 'test-ed25519.key'));
    assert.equal(sign.code, 0, sign.stderr);
    const env = JSON.parse(readFileSync(`${bundle}.sig.json`, 'utf8')) as { payloadType: string; signatures: { keyid: string }[] };
    assert.equal(env.payloadType, 'application/vnd.in-toto+json');
    assert.equal(env.signatures.length, 2);
    const policy = join(dir.path, 'policy.yaml');
    writeFileSync(policy, `apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nthreshold: 2\nkeys:\n  - name: ec\n    publicKey: keys/ec.pub\n    targets: [shenzhen]\n  - name: ed\n    publicKey: keys/ed.pub\n`);
    mkdirSync(join(dir.path, 'keys'));
    cpSync(join(TEST_KEYS, 'test-ecdsa.pub'), join(dir.path, 'keys', 'ec.pub'));
    cpSync(join(TEST_KEYS, 'test-ed25519.pub'), join(dir.path, 'keys', 'ed.pub'));
    const state = join(dir.path, 'state.json');
    const ok = await cli('bundle', 'verify', '--bundle', bundle, '--policy', policy, '--target', 'shenzhen', '--state', state);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^verified sha256:[0-9a-f]{64} shop\/web signed by .*threshold 2\/2; target shenzhen allowed; sequence 3 checked \(previous none\);/);
    assert.equal(ok.stdout.trim().split('\n').length, 1);
    const replay = await cli('bundle', 'verify', '--bundle', bundle, '--policy', policy, '--target', 'shenzhen', '--state', state);
    assert.equal(replay.code, 1);
    assert.match(replay.stderr, /^error ROLLBACK: /);
    const wrongTarget = await cli('bundle', 'verify', '--bundle', bundle, '--policy', policy, '--target', 'hongkong');
    assert.equal(wrongTarget.code, 1);
    assert.match(wrongTarget.stderr, /^error TARGET_NOT_ALLOWED: /);
    const json = await cli('bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.pub'), '--json');
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { verified: boolean; sequenceCheck: string; targetCheck: string; keyIds: string[] };
    assert.equal(parsed.verified, true);
    assert.equal(parsed.sequenceCheck, 'skipped');
    assert.equal(parsed.targetCheck, 'skipped');
    assert.equal(parsed.keyIds.length, 1);
    const skipped = await cli('bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.pub'));
    assert.match(skipped.stdout, /sequence 3 NOT checked \(no --state given\)/);
  });

  it('verify refuses a tampered bundle and an unknown key with exit 1 and error <CODE>; usage errors exit 2', async () => {
    const bundle = join(dir.path, 'app.bundle.tar');
    await cli(...createArgs(m, bundle));
    await cli('bundle', 'sign', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ecdsa.key'));
    const unknown = await cli('bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.pub'));
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error UNKNOWN_KEY: /);
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 1100] = bytes[bytes.length - 1100]! ^ 1;
    writeFileSync(bundle, bytes);
    const tampered = await cli('bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ecdsa.pub'));
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /^error DIGEST_MISMATCH: /);
    const both = await cli('bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ecdsa.pub'), '--policy', 'p.yaml');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^error USAGE: /);
    const missing = await cli('bundle', 'verify', '--bundle', bundle);
    assert.equal(missing.code, 2);
    const empty = join(dir.path, 'empty');
    mkdirSync(empty);
    assert.equal((await cli('bundle', 'create', '--from', empty, '--out', join(dir.path, 'x.tar'))).code, 2);
  });

  it('inspect lists metadata and objects, and --json is machine-readable; a hostile file is refused', async () => {
    const bundle = join(dir.path, 'app.bundle.tar');
    await cli(...createArgs(m, bundle));
    const text = await cli('bundle', 'inspect', bundle);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /UNVERIFIED/);
    assert.match(text.stdout, /apps\/v1 Deployment shop\/web/);
    const json = JSON.parse((await cli('bundle', 'inspect', bundle, '--json')).stdout) as { trusted: boolean; sequence: number; objects: { kind: string }[] };
    assert.equal(json.trusted, false);
    assert.equal(json.sequence, 3);
    assert.deepEqual(json.objects.map((o) => o.kind), ['Namespace', 'Deployment']);
    writeFileSync(join(dir.path, 'junk.tar'), Buffer.alloc(2048, 0x41));
    const bad = await cli('bundle', 'inspect', join(dir.path, 'junk.tar'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error (MALFORMED|UNSUPPORTED_FORMAT): /);
  });

  it('the real binary (subprocess) signs with --sigstore-out and exits 1 with error <CODE> on stderr', async () => {
    const bundle = join(dir.path, 'app.bundle.tar');
    await cli(...createArgs(m, bundle));
    const sign = await runCli(['bundle', 'sign', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.key'), '--sigstore-out', join(dir.path, 'app.sigstore.json')]);
    assert.equal(sign.code, 0, sign.stderr);
    assert.match(readFileSync(join(dir.path, 'app.sigstore.json'), 'utf8'), /"mediaType": "application\/vnd.dev.sigstore.bundle.v0.3\+json"/);
    const r = await runCli(['bundle', 'verify', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ecdsa.pub')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error UNKNOWN_KEY: .*\n$/);
    assert.equal(r.stdout, '');
  });
});
