import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runCli } from './run-cli.js';

/** `hooks run` refusals that need no cluster: usage (exit 2) and bad hook config (exit 1, CONFIG_INVALID). */
function configWith(hooks: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'rr-hooks-cli-'));
  copyFileSync(resolve('keys/test/test-ecdsa.key'), join(dir, 'release.key'));
  copyFileSync(resolve('keys/test/test-ecdsa.pub'), join(dir, 'release.pub'));
  writeFileSync(join(dir, 'trust-policy.yaml'), stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'r1', publicKey: 'release.pub' }] }));
  const file = join(dir, 'relay.yaml');
  writeFileSync(file, stringify({
    apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig', source: { cluster: 'shanghai', context: 'primary' }, signing: { keys: ['release.key'] },
    trustPolicy: 'trust-policy.yaml', targets: [{ name: 'shenzhen', context: 'dr' }], hooks,
  }));
  return file;
}

describe('rollout-relay hooks run (no cluster needed)', function () {
  this.timeout(180_000); // each case starts the CLI from source

  it('usage errors exit 2: a bad workload, an unknown --hook', async () => {
    const cfg = configWith([{ name: 'errors', type: 'prometheus', url: 'http://127.0.0.1:1', query: 'up', pass: '> 0' }]);
    const bad = await runCli(['hooks', 'run', 'not a workload', '--config', cfg, '--target', 'shenzhen']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /NAMESPACE\/NAME/);
    const unknown = await runCli(['hooks', 'run', 'shop/checkout', '--config', cfg, '--target', 'shenzhen', '--hook', 'colour']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /no hook named colour; configured: errors/);
  });

  it('a bad hook is refused at config load with CONFIG_INVALID naming it (exit 1)', async () => {
    const cfg = configWith([{ name: 'errors', type: 'prometheus', url: 'http://p:9090', query: 'up', pass: 'about 1' }]);
    const junit = join(dirname(cfg), 'hooks.junit.xml');
    const dotenv = join(dirname(cfg), 'hooks.env');
    const r = await runCli(['hooks', 'run', 'shop/checkout', '--config', cfg, '--target', 'shenzhen', '--junit', junit, '--dotenv', dotenv]);
    assert.equal(r.code, 1, r.stderr);
    // CI reports are written on a refusal too.
    assert.match(readFileSync(dotenv, 'utf8'), /^HOOKS_PASSED=false$[\s\S]*^HOOKS_ERROR_CODE=CONFIG_INVALID$/m);
    assert.match(readFileSync(junit, 'utf8'), /<failure type="CONFIG_INVALID"/);
    assert.match(r.stderr, /^error CONFIG_INVALID: [\s\S]*hooks\[0\] \(errors\): pass "about 1" is not a comparison/m);
  });
});
