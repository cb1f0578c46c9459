import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { tempDir } from '../../helpers/bundle-fixtures.js';

/**
 * The PrometheusRule in manifests/ checked and unit-tested by the real promtool (Debian package
 * `prometheus`): its groups are written out as a plain rule file beside alerts.promtool.yaml, which
 * has a firing and a not-firing case for every alert.
 */
const ROOT = new URL('../../../', import.meta.url).pathname;
const RULE = join(ROOT, 'manifests/monitoring/prometheusrule.yaml');
const TESTS = join(ROOT, 'test/unit/manifests/alerts.promtool.yaml');

interface RuleFile { spec: { groups: { name: string; rules: { alert?: string }[] }[] } }

function promtool(args: string[]): string {
  try {
    return execFileSync('promtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is not installed: apt-get install prometheus (Debian) gives it', { cause: err });
    throw new Error(`promtool ${args[0]} ${args[1]} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

describe('manifests: PrometheusRule alerts (promtool)', function () {
  this.timeout(60_000);
  const rule = parse(readFileSync(RULE, 'utf8')) as RuleFile;
  const alerts = rule.spec.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));

  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  function writeRules(groups: unknown): string {
    const { path: dir, cleanup } = tempDir('promtool-');
    cleanups.push(cleanup);
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    copyFileSync(TESTS, join(dir, 'alerts.promtool.yaml'));
    return dir;
  }

  it('carries the seed alerts and one per rollout-relay signal', () => {
    assert.deepEqual(alerts.sort(), [
      'DeploymentReplicasMismatch', 'HighErrorRatio5xx', 'OldPodsTerminated',
      'RolloutRelayDrLagging', 'RolloutRelayDrNotCompleted', 'RolloutRelayPromotionOverSla', 'RolloutRelayVerificationFailed',
    ]);
  });

  it('passes promtool check rules', () => {
    const dir = writeRules(rule.spec.groups);
    assert.match(promtool(['check', 'rules', join(dir, 'rules.yaml')]), /SUCCESS: 7 rules found/);
  });

  it('passes promtool test rules, with a firing and a not-firing case for every alert', () => {
    const tests = parse(readFileSync(TESTS, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const name of alerts) {
      assert.ok(cases.some((c) => c.alertname === name && c.exp_alerts.length > 0), `${name} has a firing case`);
      assert.ok(cases.some((c) => c.alertname === name && c.exp_alerts.length === 0), `${name} has a not-firing case`);
    }
    const dir = writeRules(rule.spec.groups);
    assert.match(promtool(['test', 'rules', join(dir, 'alerts.promtool.yaml')]), /SUCCESS/);
  });

  it('the promtool tests fail when a threshold changes (they can fail)', () => {
    const loosened = structuredClone(rule.spec.groups) as { rules: { alert?: string; expr?: string }[] }[];
    const errors = loosened.flatMap((g) => g.rules).find((r) => r.alert === 'HighErrorRatio5xx')!;
    errors.expr = errors.expr!.replace('> 0.005', '> 0.05');
    const dir = writeRules(loosened);
    assert.throws(() => promtool(['test', 'rules', join(dir, 'alerts.promtool.yaml')]), /HighErrorRatio5xx/);
  });
});
