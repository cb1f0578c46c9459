import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeBigBundle } from '../../../bench/big-bundle.js';
import { generateSigningKeyPair, keySigner, publicKeyPem, serializeEnvelope, signBundleDigest } from '../../../src/signing/index.js';
import { tempDir } from '../../helpers/bundle-fixtures.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

describe('verify streams: memory stays flat on a bundle larger than the limit (fresh process)', function () {
  this.timeout(120_000);
  it('verifies a 128 MiB bundle with resident-set growth under 64 MiB (npm run bench -- bundle-memory does 1 GiB)', async () => {
    const dir = tempDir();
    try {
      const bundlePath = join(dir.path, 'big.bundle.tar');
      const big = await writeBigBundle(bundlePath, 512, 256 * 1024);
      assert.ok(big.size > 128 * MiB);
      const { privateKey, publicKey } = generateSigningKeyPair('ed25519');
      writeFileSync(join(dir.path, 'k.pub'), publicKeyPem(publicKey));
      writeFileSync(`${bundlePath}.sig.json`, serializeEnvelope(await signBundleDigest('big', big.digest, big.index, [keySigner(privateKey)])));
      const script = new URL('../../../bench/verify-rss.ts', import.meta.url).pathname;
      const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', script, bundlePath, `${bundlePath}.sig.json`, join(dir.path, 'k.pub')]);
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as { digest: string; growth: number };
      assert.equal(r.digest, big.digest);
      console.log(`      RSS growth ${(r.growth / MiB).toFixed(1)} MiB for ${(big.size / MiB).toFixed(0)} MiB`);
      assert.ok(r.growth < 64 * MiB, `RSS grew ${(r.growth / MiB).toFixed(1)} MiB`);
    } finally {
      dir.cleanup();
    }
  });
});
