import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateSigningKeyPair, privateKeyPem, publicKeyPem } from '../../../src/signing/index.js';
import { parseFormats } from '../../../src/cli/commands/drill.js';
import { runCli, runCliInProcess } from './run-cli.js';

/** A scenario and a valid relay config (real keys, a trust policy) pointing at no cluster: the plan needs none. */
function setup(scenario: Record<string, unknown> = {}): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rr-drill-cli-'));
  const pair = generateSigningKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'release.key'), privateKeyPem(pair.privateKey), { mode: 0o600 });
  writeFileSync(join(dir, 'release.pub'), publicKeyPem(pair.publicKey));
  writeFileSync(join(dir, 'trust-policy.yaml'), stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'release', publicKey: 'release.pub', sources: ['shanghai'] }] }));
  writeFileSync(join(dir, 'relay.yaml'), stringify({
    apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig', source: { cluster: 'shanghai', context: 'primary', kubeconfig: '/nonexistent/kubeconfig' },
    signing: { keys: ['release.key'] }, trustPolicy: 'trust-policy.yaml', targets: [{ name: 'shenzhen', context: 'dr', kubeconfig: '/nonexistent/kubeconfig' }],
  }));
  const file = join(dir, 'drill.yaml');
  writeFileSync(file, stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'DrillScenario', config: 'relay.yaml', applications: ['shop/checkout'], cut: { type: 'sandbox', dir: '.sandbox' }, ...scenario }));
  return { dir, file };
}

describe('rollout-relay drill (no cluster needed)', () => {
  it('without --yes prints the plan, changes nothing and exits 0', async () => {
    const { dir, file } = setup();
    const r = await runCliInProcess('drill', '--scenario', file, '--report-dir', join(dir, 'reports'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^drill "drill"/);
    assert.match(r.stdout, /1\. promote: .*2\. cut-primary: .*3\. verify-dr: .*4\. failback: /s);
    assert.match(r.stdout, /nothing was changed; run again with --yes to run the drill/);
    assert.deepEqual(readdirSync(dir).sort(), ['drill.yaml', 'relay.yaml', 'release.key', 'release.pub', 'trust-policy.yaml']);
  });

  it('--dry-run wins over --yes; --json prints the plan as JSON', async () => {
    const { file } = setup();
    const r = await runCliInProcess('drill', '--scenario', file, '--dry-run', '--yes', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; steps: string[]; plan: string[] };
    assert.equal(out.dryRun, true);
    assert.deepEqual(out.steps, ['promote', 'cut-primary', 'verify-dr', 'failback']);
    assert.ok(out.plan.some((l) => /cut-primary: cut primary off/.test(l)));
  });

  it('an invalid scenario is CONFIG_INVALID naming the field (exit 1); a bad --format is usage (exit 2)', async () => {
    const { file } = setup({ sla: 'fast' });
    const r = await runCli(['drill', '--scenario', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error CONFIG_INVALID: drill scenario .* is invalid:\n\s+- sla: must be a duration/);
    const f = await runCliInProcess('drill', '--scenario', file, '--format', 'json,pdf');
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--format takes a comma-separated list of json, md, junit, html/);
  });

  it('a config the scenario names that does not load is CONFIG_INVALID saying so', async () => {
    const { file } = setup({ config: 'missing.yaml' });
    const r = await runCli(['drill', '--scenario', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error CONFIG_INVALID: drill scenario .*: config: config .*missing\.yaml cannot be read \(ENOENT\)/);
  });

  it('--scenario is required of drill and of drill recover (usage, exit 2); recover takes its own --scenario, and a bad --wait is usage', async () => {
    const d = await runCliInProcess('drill', '--yes');
    assert.equal(d.code, 2);
    assert.match(d.stderr, /error USAGE: required option '--scenario <file>' not specified/);
    const r = await runCliInProcess('drill', 'recover');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /required option '--scenario <file>' not specified/);
    const { file } = setup();
    const w = await runCliInProcess('drill', 'recover', '--scenario', file, '--wait', 'soon');
    assert.equal(w.code, 2);
    assert.match(w.stderr, /error USAGE: --wait takes a duration like 180s or 5m; got "soon"/);
    // The scenario's config is loaded (and refused) by recover as by the drill.
    const c = await runCli(['drill', 'recover', '--scenario', setup({ config: 'missing.yaml' }).file, '--dry-run']);
    assert.equal(c.code, 1);
    assert.match(c.stderr, /error CONFIG_INVALID: drill scenario .*: config: config .*missing\.yaml cannot be read \(ENOENT\)/);
  });

  it('parseFormats: defaults json,md; duplicates once', () => {
    assert.deepEqual(parseFormats(undefined), ['json', 'md']);
    assert.deepEqual(parseFormats('junit, html,junit'), ['junit', 'html']);
    assert.throws(() => parseFormats(''), /--format/);
  });
});
