import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_STATE_FILE_BYTES } from '../../../src/bounded-file.js';
import { JsonFileSequenceStore, loadTrustPolicy, parseTrustPolicy, policyFromPublicKeys } from '../../../src/policy/index.js';
import { createSelfSignedCertificate, loadPrivateKey } from '../../../src/signing/index.js';
import { expectCode, tempDir, testKeyPem, TEST_KEYS } from '../../helpers/bundle-fixtures.js';

const ED = '45cc48b3b875fb13e7a105409dff718364fb5f48e8357759d587fee3b51b12d0';
const EC = '0ed5832b3fa7d61c33cc973855912c6a725e867cdb68f3fd7b4dd6256ad13248';

/** A file of `size` bytes that takes no disk space (a hole). */
function sparseFile(path: string, size: number): void {
  closeSync(openSync(path, 'w'));
  truncateSync(path, size);
}

const policyYaml = (keys: string, extra = '') => `apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\n${extra}keys:\n${keys}`;

describe('trust policy', () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.cleanup());

  it('loads keys by relative path, inline PEM and certificate, with defaults', () => {
    writeFileSync(join(dir.path, 'ed.pub'), testKeyPem('test-ed25519', 'pub'));
    const inline = testKeyPem('test-rsa-pss', 'pub').replace(/^/gm, '      ');
    const text = policyYaml(
      [
        `  - name: ed\n    publicKey: ed.pub\n    keyId: ${ED}\n    sources: [shanghai]\n    targets: [shenzhen]`,
        `  - name: rsa\n    publicKey: |\n${inline}`,
        `  - name: ec-cert\n    certificate: ${join(TEST_KEYS, 'test-ecdsa.crt')}\n    revoked: true`,
      ].join('\n') + '\n',
      'threshold: 2\n',
    );
    const p = join(dir.path, 'policy.yaml');
    writeFileSync(p, text);
    const policy = loadTrustPolicy(p);
    assert.equal(policy.threshold, 2);
    assert.equal(policy.maxBundleBytes, 1024 ** 3);
    assert.deepEqual(policy.keys.map((k) => [k.name, k.algorithm, k.revoked]), [['ed', 'ed25519', false], ['rsa', 'rsa-pss-3072', false], ['ec-cert', 'ecdsa-p256', true]]);
    assert.equal(policy.keys[0]!.keyId, ED);
    assert.equal(policy.keys[2]!.keyId, EC);
    assert.deepEqual(policy.keys[0]!.targets, ['shenzhen']);
    assert.equal(policy.keys[1]!.targets, undefined);
  });

  it('refuses invalid policies with POLICY_INVALID', async () => {
    const key = `  - name: a\n    publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}\n`;
    const cases = [
      'not: [yaml',
      policyYaml(key).replace('TrustPolicy', 'Policy'),
      policyYaml(key, 'threshold: 0\n'),
      policyYaml(key, 'threshold: 2\n'),
      policyYaml(key, 'unknownField: 1\n'),
      policyYaml(key + key),
      policyYaml(key + key.replace('name: a', 'name: b')),
      policyYaml(`  - name: a\n`),
      policyYaml(`  - name: a\n    publicKey: nope.pub\n`),
      policyYaml(`  - name: a\n    publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}\n    revoked: true\n`),
      policyYaml(`  - name: a\n    publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}\n    targets: []\n`),
    ];
    for (const text of cases) await expectCode(() => parseTrustPolicy(text, { baseDir: dir.path }), 'POLICY_INVALID');
    await expectCode(() => loadTrustPolicy(join(dir.path, 'missing.yaml')), 'POLICY_INVALID');
  });

  it('refuses bad keys with KEY_INVALID: not a key, a pinned id that does not match, an expired certificate', async () => {
    await expectCode(() => parseTrustPolicy(policyYaml(`  - name: a\n    publicKey: "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n"\n`)), 'KEY_INVALID');
    await expectCode(() => parseTrustPolicy(policyYaml(`  - name: a\n    publicKey: ${join(TEST_KEYS, 'test-ed25519.pub')}\n    keyId: ${EC}\n`)), 'KEY_INVALID');
    const cert = createSelfSignedCertificate(loadPrivateKey(testKeyPem('test-ecdsa', 'key'), 'k'), { commonName: 'old', days: 1, now: new Date('2020-01-01T00:00:00Z') });
    writeFileSync(join(dir.path, 'old.crt'), cert);
    await expectCode(() => parseTrustPolicy(policyYaml('  - name: a\n    certificate: old.crt\n'), { baseDir: dir.path }), 'KEY_INVALID');
    // the same certificate loads when checked at a time inside its validity
    const p = parseTrustPolicy(policyYaml('  - name: a\n    certificate: old.crt\n'), { baseDir: dir.path, now: new Date('2020-01-01T12:00:00Z') });
    assert.equal(p.keys[0]!.keyId, EC);
  });

  it('builds the --key policy and checks its threshold (USAGE)', async () => {
    const p = policyFromPublicKeys([{ pem: testKeyPem('test-ed25519', 'pub'), origin: 'a' }, { pem: testKeyPem('test-ed25519', 'pub'), origin: 'dup' }]);
    assert.equal(p.keys.length, 1);
    await expectCode(() => policyFromPublicKeys([{ pem: testKeyPem('test-ed25519', 'pub'), origin: 'a' }], 2), 'USAGE');
  });

  describe('JsonFileSequenceStore', () => {
    it('starts empty, stores per (application, target), rewrites atomically', async () => {
      const path = join(dir.path, 'state', 'seq.json');
      const store = new JsonFileSequenceStore(path);
      assert.equal(await store.get('shop/web', 'shenzhen'), undefined);
      await store.put('shop/web', 'shenzhen', 7);
      await store.put('shop/api', 'shenzhen', 3);
      await store.put('shop/web', 'hongkong', 1);
      assert.equal(await store.get('shop/web', 'shenzhen'), 7);
      assert.equal(await new JsonFileSequenceStore(path).get('shop/web', 'hongkong'), 1);
      assert.equal(await store.get('toString', 'shenzhen'), undefined);
      assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, targets: { shenzhen: { 'shop/web': 7, 'shop/api': 3 }, hongkong: { 'shop/web': 1 } } });
      await expectCode(() => store.put('__proto__', 'shenzhen', 1), 'USAGE');
    });

    it('refuses a damaged state file (MALFORMED) rather than forgetting replay state', async () => {
      const path = join(dir.path, 'seq.json');
      writeFileSync(path, '{"version":1,"targets":{"x":{"a":"7"}}}');
      await expectCode(() => new JsonFileSequenceStore(path).get('a', 'x'), 'MALFORMED');
      writeFileSync(path, '{nope');
      await expectCode(() => new JsonFileSequenceStore(path).get('a', 'x'), 'MALFORMED');
    });

    it('refuses a state path that is not a regular file, or above MAX_STATE_FILE_BYTES, with USAGE saying what to do, before reading it', async () => {
      const fifo = join(dir.path, 'fifo');
      execFileSync('mkfifo', [fifo]);
      for (const p of ['/dev/zero', dir.path, fifo]) {
        const err = await expectCode(() => new JsonFileSequenceStore(p).get('a', 'x'), 'USAGE');
        assert.match(err.message, /^state .* is not a regular file; rollout-relay did not write it: check that --state names the state file, or restore that file from backup$/);
        await expectCode(() => new JsonFileSequenceStore(p).put('a', 'x', 1), 'USAGE');
      }
      const huge = join(dir.path, 'huge.json');
      sparseFile(huge, MAX_STATE_FILE_BYTES + 1);
      const err = await expectCode(() => new JsonFileSequenceStore(huge).get('a', 'x'), 'USAGE');
      assert.match(err.message, new RegExp(`is ${MAX_STATE_FILE_BYTES + 1} bytes, above the ${MAX_STATE_FILE_BYTES}-byte limit for a state file; rollout-relay did not write it`));
    });
  });
});
