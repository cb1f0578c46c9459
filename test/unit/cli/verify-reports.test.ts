import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, TEST_KEYS } from '../../helpers/bundle-fixtures.js';
import { runCli } from './run-cli.js';

describe('CLI: bundle verify --junit --dotenv (CI reports, pass or fail)', function () {
  this.timeout(60_000);
  it('writes pass reports with the digest, and fail reports with the code and HOT_UPDATE_STATUS=paused', async () => {
    const dir = tempDir();
    try {
      const m = join(dir.path, 'm');
      mkdirSync(m);
      writeFileSync(join(m, 'ns.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n');
      const bundle = join(dir.path, 'app.bundle.tar');
      const key = join(TEST_KEYS, 'test-ed25519.pub');
      assert.equal((await runCli(['bundle', 'create', '--from', m, '--out', bundle, '--namespace', 'shop', '--name', 'web', '--target', 'shenzhen', '--commit', 'a'.repeat(40)])).code, 0);
      assert.equal((await runCli(['bundle', 'sign', '--bundle', bundle, '--key', join(TEST_KEYS, 'test-ed25519.key')])).code, 0);
      const junit = join(dir.path, 'verify.junit.xml');
      const dotenv = join(dir.path, 'verify.env');
      const ok = await runCli(['bundle', 'verify', '--bundle', bundle, '--key', key, '--target', 'shenzhen', '--junit', junit, '--dotenv', dotenv]);
      assert.equal(ok.code, 0, ok.stderr);
      const env = readFileSync(dotenv, 'utf8');
      assert.match(env, /^HOT_UPDATE_STATUS=pending\nBUNDLE_DIGEST=sha256:[0-9a-f]{64}\nBUNDLE_SEQUENCE=\d+\nBUNDLE_APPLICATION=shop\/web\nBUNDLE_COMMIT=a{40}\n$/);
      assert.match(readFileSync(junit, 'utf8'), /tests="1" failures="0"[\s\S]*<testcase name="verify .*app\.bundle\.tar for shenzhen" classname="rollout-relay\.verify" time="[\d.]+"\/>/);

      const bytes = readFileSync(bundle);
      bytes[bytes.length - 2048] = (bytes[bytes.length - 2048]! + 1) % 256; // one byte of the tar's end
      writeFileSync(bundle, bytes);
      const bad = await runCli(['bundle', 'verify', '--bundle', bundle, '--key', key, '--target', 'shenzhen', '--junit', junit, '--dotenv', dotenv]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^error DIGEST_MISMATCH: /);
      assert.equal(readFileSync(dotenv, 'utf8'), 'HOT_UPDATE_STATUS=paused\nVERIFY_ERROR_CODE=DIGEST_MISMATCH\n');
      assert.match(readFileSync(junit, 'utf8'), /failures="1"[\s\S]*<failure type="DIGEST_MISMATCH" message="/);
    } finally {
      dir.cleanup();
    }
  });
});
