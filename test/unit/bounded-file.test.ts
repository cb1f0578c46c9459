import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedFile, readBoundedFileSync, MAX_KEY_FILE_BYTES } from '../../src/bounded-file.js';
import { loadTrustPolicy, parseTrustPolicy } from '../../src/policy/index.js';
import { expectCode, tempDir } from '../helpers/bundle-fixtures.js';
import { runCli } from './cli/run-cli.js';

describe('bounded file reading (keys, certificates, policies)', function () {
  // Runs the CLI in child processes: slow when the machine is busy.
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.cleanup());
  const opts = { what: 'key', maxBytes: 1024, code: 'KEY_INVALID' } as const;

  it('reads a regular file up to the cap and refuses one byte more', async () => {
    writeFileSync(join(dir.path, 'ok'), Buffer.alloc(1024, 0x41));
    writeFileSync(join(dir.path, 'big'), Buffer.alloc(1025, 0x41));
    assert.equal(readBoundedFileSync(join(dir.path, 'ok'), opts).length, 1024);
    assert.equal((await readBoundedFile(join(dir.path, 'ok'), opts)).length, 1024);
    await expectCode(() => readBoundedFileSync(join(dir.path, 'big'), opts), 'KEY_INVALID');
    await expectCode(() => readBoundedFile(join(dir.path, 'big'), opts), 'KEY_INVALID');
  });

  it('refuses /dev/zero, a directory and a FIFO without reading or blocking', async () => {
    execFileSync('mkfifo', [join(dir.path, 'fifo')]);
    for (const p of ['/dev/zero', dir.path, join(dir.path, 'fifo')]) {
      const err = await expectCode(() => readBoundedFileSync(p, opts), 'KEY_INVALID');
      assert.match(err.message, /not a regular file/);
      await expectCode(() => readBoundedFile(p, opts), 'KEY_INVALID');
    }
    await expectCode(() => readBoundedFileSync(join(dir.path, 'missing'), opts), 'KEY_INVALID');
  });

  it('a policy naming /dev/zero as key or being /dev/zero is POLICY_INVALID', async () => {
    await expectCode(() => parseTrustPolicy('apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nkeys:\n  - name: z\n    publicKey: /dev/zero\n'), 'POLICY_INVALID');
    await expectCode(() => parseTrustPolicy('apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nkeys:\n  - name: z\n    certificate: /dev/zero\n'), 'POLICY_INVALID');
    await expectCode(() => loadTrustPolicy('/dev/zero'), 'POLICY_INVALID');
    assert.ok(MAX_KEY_FILE_BYTES >= 16 * 1024, 'room for any real key or certificate');
  });

  it('the CLI refuses /dev/zero as --key and for keys id (KEY_INVALID)', async () => {
    for (const args of [['keys', 'id', '/dev/zero'], ['bundle', 'sign', '--bundle', join(dir.path, 'x.tar'), '--key', '/dev/zero'], ['bundle', 'verify', '--bundle', join(dir.path, 'x.tar'), '--key', '/dev/zero']]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^error KEY_INVALID: .*not a regular file/m);
    }
  });
});
