import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBigBundle } from '../../../bench/big-bundle.js';
import { PARALLEL_DIGEST_MIN_BYTES, ParallelDigestFile, bundleFileSource } from '../../../src/bundle/parallel-digest.js';
import { readBundle, scanBundle } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';
import { generateSigningKeyPair, keySigner, publicKeyPem, serializeEnvelope, signBundleDigest } from '../../../src/signing/index.js';
import { policyFromPublicKeys } from '../../../src/policy/index.js';
import { verifyBundleFile } from '../../../src/verify/index.js';
import { tempDir } from '../../helpers/bundle-fixtures.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function drain(source: ParallelDigestFile): Promise<{ digest: string; bytes: Buffer }> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return { digest: await source.digest(), bytes: Buffer.concat(parts) };
}

describe('bundle: whole-file digest on a worker thread (ParallelDigestFile)', function () {
  this.timeout(60_000);
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.cleanup());

  it('yields every byte in order and digests them, across ring reuse, exact slot multiples and an empty file', async () => {
    // Tiny slots so a small file wraps the ring many times.
    for (const size of [0, 1, 999, 1000, 4000, 4001, 100_003]) {
      const path = join(dir.path, `f-${size}`);
      const data = randomBytes(size);
      writeFileSync(path, data);
      const got = await drain(new ParallelDigestFile(path, 2, 1000));
      assert.equal(got.digest, sha256(data), `digest of ${size} bytes`);
      assert.ok(got.bytes.equals(data), `bytes of ${size} bytes`);
    }
  });

  it('several files digested at the same time do not mix (one worker, one job each)', async () => {
    const files = Array.from({ length: 4 }, (_, i) => {
      const path = join(dir.path, `c-${i}`);
      const data = randomBytes(50_000 + i * 7);
      writeFileSync(path, data);
      return { path, data };
    });
    const results = await Promise.all(files.map((f) => drain(new ParallelDigestFile(f.path, 3, 4096))));
    results.forEach((r, i) => assert.equal(r.digest, sha256(files[i]!.data)));
  });

  it('a consumer that stops early (a refusal mid-file) releases the job; later digests still work', async () => {
    const path = join(dir.path, 'early');
    const data = randomBytes(64_000);
    writeFileSync(path, data);
    const source = new ParallelDigestFile(path, 2, 1000);
    let n = 0;
    for await (const _chunk of source) if (++n === 3) break;
    assert.throws(() => source.digest(), /before the file was read to its end/);
    assert.equal((await drain(new ParallelDigestFile(path, 2, 1000))).digest, sha256(data));
  });

  it('a read error on the worker reaches the consumer with its code; the next file still digests', async () => {
    await assert.rejects(drain(new ParallelDigestFile(dir.path, 2, 1000)), (err: NodeJS.ErrnoException) => err.code === 'EISDIR' && err.message.includes(dir.path));
    const path = join(dir.path, 'after-error');
    const data = randomBytes(5000);
    writeFileSync(path, data);
    assert.equal((await drain(new ParallelDigestFile(path, 2, 1000))).digest, sha256(data));
  });

  it('more files at once than idle workers are kept: each still gets its own, and later ones reuse the pool', async () => {
    const files = Array.from({ length: 6 }, (_, i) => {
      const path = join(dir.path, `p-${i}`);
      const data = randomBytes(20_000 + i);
      writeFileSync(path, data);
      return { path, data };
    });
    for (let pass = 0; pass < 2; pass++) {
      const results = await Promise.all(files.map((f) => drain(new ParallelDigestFile(f.path, 2, 1000))));
      results.forEach((r, i) => assert.equal(r.digest, sha256(files[i]!.data)));
    }
  });

  it('is used only for files large enough to pay for a thread', () => {
    assert.ok(!(bundleFileSource('/nonexistent', PARALLEL_DIGEST_MIN_BYTES - 1) instanceof ParallelDigestFile));
    assert.ok(bundleFileSource('/nonexistent', PARALLEL_DIGEST_MIN_BYTES) instanceof ParallelDigestFile);
  });

  describe('a bundle above the threshold keeps every verdict', () => {
    let bundlePath: string;
    let digest: string;
    let policy: ReturnType<typeof policyFromPublicKeys>;
    before(async function () {
      this.timeout(60_000);
      const d = tempDir();
      bundlePath = join(d.path, 'big.bundle.tar');
      const big = await writeBigBundle(bundlePath, 80, 256 * 1024);
      assert.ok(big.size >= PARALLEL_DIGEST_MIN_BYTES, `bundle is ${big.size} bytes`);
      digest = big.digest;
      const { privateKey, publicKey } = generateSigningKeyPair('ed25519');
      policy = policyFromPublicKeys([{ pem: publicKeyPem(publicKey), origin: 'test' }]);
      writeFileSync(`${bundlePath}.sig.json`, serializeEnvelope(await signBundleDigest('big', big.digest, big.index, [keySigner(privateKey)])));
    });

    it('verifies with the same digest as a single-threaded scan', async () => {
      const v = await verifyBundleFile({ bundlePath, policy, target: 'shenzhen', loadObjects: false });
      assert.equal(v.digest, digest);
      const single = await scanBundle([readFileSync(bundlePath)]);
      assert.equal(single.digest, digest);
      assert.equal(single.entries, v.index.files.length + 1);
    });

    it('one flipped byte in a manifest: DIGEST_MISMATCH under a signature, FILE_DIGEST_MISMATCH without one', async () => {
      const bytes = readFileSync(bundlePath);
      const at = bytes.length - 3 * 1024 * 1024; // inside a manifest near the end, after many ring turns
      bytes[at] = bytes[at]! ^ 0x01;
      const tampered = join(dir.path, 'tampered.bundle.tar');
      writeFileSync(tampered, bytes);
      writeFileSync(`${tampered}.sig.json`, readFileSync(`${bundlePath}.sig.json`));
      await assert.rejects(verifyBundleFile({ bundlePath: tampered, policy, target: 'shenzhen', loadObjects: false }), (e) => isRelayError(e, 'DIGEST_MISMATCH'));
      await assert.rejects(readBundle(tampered), (e) => isRelayError(e, 'FILE_DIGEST_MISMATCH'));
    });
  });
});
