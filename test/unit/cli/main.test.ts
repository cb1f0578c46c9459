import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli } from './run-cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('rollout-relay CLI', () => {
  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  it('--help lists every command of the design', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const cmd of ['keys', 'bundle', 'apply', 'promote', 'controller', 'status', 'drill', 'appset-plugin', 'sandbox', 'demo']) {
      assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'), `missing ${cmd}`);
    }
  });

  it('an unknown command is refused with a clear message and exit code 2', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  it('an unknown option is refused with exit code 2', async () => {
    const r = await runCli(['sandbox', 'status', '--no-such-flag']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option/);
  });

  it('sandbox status without a sandbox says so and exits 1', async () => {
    const r = await runCli(['sandbox', 'status', '--dir', '/nonexistent/rollout-relay-sandbox']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /no sandbox in/);
  });

  it('sandbox env without a sandbox fails with SANDBOX_FAILED', async () => {
    const r = await runCli(['sandbox', 'env', '--dir', '/nonexistent/rollout-relay-sandbox']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error SANDBOX_FAILED: no sandbox in .* run rollout-relay sandbox up first/);
  });
});
