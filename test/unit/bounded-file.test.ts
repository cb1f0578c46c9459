import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readBoundedFile, readBoundedFileSync, MAX_KEY_FILE_BYTES, MAX_POLICY_FILE_BYTES, MAX_SETTINGS_FILE_BYTES } from '../../src/bounded-file.js';
import { loadRelayConfig } from '../../src/config/load.js';
import { loadScenario } from '../../src/drill/scenario.js';
import type { RelayErrorCode } from '../../src/errors.js';
import { parseHookSpecs } from '../../src/hooks/config.js';
import { loadTrustPolicy, parseTrustPolicy } from '../../src/policy/index.js';
import { readTokenFile } from '../../src/server/auth.js';
import { expectCode, tempDir } from '../helpers/bundle-fixtures.js';
import { runCli, runCliInProcess } from './cli/run-cli.js';

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

  it('reads a file longer than its stat size (a /proc file, or one growing while read) whole, still within the cap', async () => {
    // /proc/self/status is a regular file whose stat size is 0: the buffer, sized by the file, must grow.
    const whole = readFileSync('/proc/self/status', 'utf8');
    assert.ok(whole.length > 64);
    for (const read of [readBoundedFileSync('/proc/self/status', { ...opts, maxBytes: 1024 * 1024 }), await readBoundedFile('/proc/self/status', { ...opts, maxBytes: 1024 * 1024 })]) {
      assert.match(read.toString('utf8'), /^Name:\t.*\n[\s\S]*\nPid:\t\d+\n[\s\S]*\n$/);
      assert.ok(Math.abs(read.length - whole.length) < 64, `read whole: ${read.length} vs ${whole.length} bytes`);
    }
    await expectCode(() => readBoundedFileSync('/proc/self/status', { ...opts, maxBytes: 64 }), 'KEY_INVALID');
    await expectCode(() => readBoundedFile('/proc/self/status', { ...opts, maxBytes: 64 }), 'KEY_INVALID');
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

describe('files an operator names are read bounded (config, drill scenario, Job template, token, TLS PEM, policy to re-scope)', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => void };
  let fifo: string;
  beforeEach(() => {
    dir = tempDir();
    fifo = join(dir.path, 'fifo');
    execFileSync('mkfifo', [fifo]); // no writer: a plain read would block on open forever
  });
  afterEach(() => dir.cleanup());

  /** One byte over the cap, of content the loader would accept or parse if it read it. */
  function oversized(maxBytes: number, line: string): string {
    const p = join(dir.path, 'big');
    writeFileSync(p, line.repeat(Math.ceil((maxBytes + 1) / line.length)));
    return p;
  }

  const loaders: { name: string; code: RelayErrorCode; maxBytes: number; line: string; load: (p: string) => unknown }[] = [
    { name: 'relay config', code: 'CONFIG_INVALID', maxBytes: MAX_SETTINGS_FILE_BYTES, line: '# padding\n', load: (p) => loadRelayConfig(p) },
    { name: 'drill scenario', code: 'CONFIG_INVALID', maxBytes: MAX_SETTINGS_FILE_BYTES, line: '# padding\n', load: (p) => loadScenario(p) },
    { name: 'hook Job template', code: 'CONFIG_INVALID', maxBytes: MAX_SETTINGS_FILE_BYTES, line: '# padding\n', load: (p) => parseHookSpecs([{ name: 'smoke', type: 'job', template: p, timeout: 60 }], dir.path) },
    // A token of only letters is valid at any length: only the cap refuses it.
    { name: 'token file', code: 'CONFIG_INVALID', maxBytes: MAX_KEY_FILE_BYTES, line: 'abcdefgh', load: (p) => readTokenFile(p, 'server.tokenFile') },
  ];

  for (const l of loaders) {
    it(`${l.name}: one byte over the cap, /dev/zero and a FIFO are ${l.code} before anything is parsed`, async () => {
      const big = await expectCode(() => l.load(oversized(l.maxBytes, l.line)), l.code);
      assert.match(big.message, new RegExp(`above the ${l.maxBytes}-byte limit .*; check that the path names the right file`));
      for (const p of ['/dev/zero', fifo]) {
        const err = await expectCode(() => l.load(p), l.code);
        assert.match(err.message, /is not a regular file; give the path of a file/);
      }
      const missing = await expectCode(() => l.load(join(dir.path, 'missing.yaml')), l.code);
      assert.match(missing.message, /missing\.yaml cannot be read \(ENOENT\); check the path/);
    });
  }

  it('a hook\'s refusal names the hook; a token file\'s names the setting', async () => {
    assert.match((await expectCode(() => parseHookSpecs([{ name: 'smoke', type: 'job', template: fifo, timeout: 60 }], dir.path), 'CONFIG_INVALID')).message, /^hooks\[0\] \(smoke\): Job template .*fifo is not a regular file/);
    assert.match((await expectCode(() => readTokenFile('/dev/zero', 'plugin.tokenFile'), 'CONFIG_INVALID')).message, /^plugin\.tokenFile: token \/dev\/zero is not a regular file/);
  });

  it('appset-plugin --tls-cert and policy scope --policy are refused before the config or the cluster is read', async () => {
    const big = oversized(MAX_POLICY_FILE_BYTES, 'a'.repeat(63) + '\n');
    for (const p of [fifo, '/dev/zero', big]) {
      const tls = await runCliInProcess('appset-plugin', '--config', join(dir.path, 'missing.yaml'), '--listen', '127.0.0.1:0', '--tls-cert', p, '--tls-key', p);
      assert.equal(tls.code, 2, tls.stderr);
      assert.match(tls.stderr, /^error USAGE: --tls-cert: PEM .* (is not a regular file|is \d+ bytes, above the \d+-byte limit)/m);
      const scope = await runCliInProcess('policy', 'scope', '--from-appproject', 'argocd/shop', '--context', 'no-such-context', '--policy', p);
      assert.equal(scope.code, 1, scope.stderr);
      assert.match(scope.stderr, /^error POLICY_INVALID: trust policy .* (is not a regular file|is \d+ bytes, above the \d+-byte limit)/m);
    }
  });
});
