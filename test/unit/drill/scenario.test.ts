import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadScenario, parseScenario, splitCommand } from '../../../src/drill/scenario.js';
import { RelayError } from '../../../src/errors.js';

const base = {
  apiVersion: 'rollout-relay.io/v1',
  kind: 'DrillScenario',
  config: 'relay.yaml',
  applications: ['shop/checkout'],
  cut: { type: 'sandbox', dir: '.sandbox' },
};

function refused(raw: unknown): string {
  try {
    parseScenario(raw, '/drills/weekly.yaml');
  } catch (err) {
    assert.ok(err instanceof RelayError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message;
  }
  assert.fail('the scenario was accepted');
}

describe('drill scenario', () => {
  it('fills the defaults and resolves paths against the scenario file', () => {
    const s = parseScenario(base, '/drills/weekly.yaml');
    assert.equal(s.name, 'weekly');
    assert.equal(s.config, '/drills/relay.yaml');
    assert.deepEqual(s.applications, [{ namespace: 'shop', name: 'checkout' }]);
    assert.equal(s.slaMs, 100_000);
    assert.deepEqual(s.objectives, { rtoMs: null, rpoReleases: null });
    assert.deepEqual(s.cut, { type: 'sandbox', dir: '/drills/.sandbox', context: 'primary' });
    assert.deepEqual(s.steps, ['promote', 'cut-primary', 'verify-dr', 'failback']);
    assert.equal(s.timeoutMs, 600_000);
  });

  it('reads the design §8.1 example from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-scenario-'));
    const file = join(dir, 'drill.yaml');
    writeFileSync(file, stringify({ ...base, name: 'nightly', sla: '100s', objectives: { rto: '30s', rpo: 0 }, steps: ['promote', 'cut-primary', 'verify-dr', 'failback'], schedule: '0 3 * * 1' }));
    const s = loadScenario(file);
    assert.equal(s.name, 'nightly');
    assert.equal(s.config, join(dir, 'relay.yaml'));
    assert.deepEqual(s.objectives, { rtoMs: 30_000, rpoReleases: 0 });
    assert.equal(s.schedule, '0 3 * * 1');
  });

  it('names every bad field in one CONFIG_INVALID', () => {
    const msg = refused({ ...base, applications: ['checkout'], sla: 'soon', objectives: { rto: '30s', rpo: -1 }, extra: true, cut: { type: 'sandbox', dri: 'x' } });
    assert.match(msg, /applications\[0\]: must be NAMESPACE\/NAME/);
    assert.match(msg, /sla: must be a duration/);
    assert.match(msg, /objectives\.rpo: must be 0 or more releases/);
    assert.match(msg, /extra: unknown field/);
    assert.match(msg, /cut\.dri: unknown field/);
  });

  it('refuses an unknown cut type, kind, step and schedule by name', () => {
    assert.match(refused({ ...base, cut: { type: 'pull-the-plug' } }), /cut\.type: must be sandbox, command, scale-to-zero or cordon/);
    assert.match(refused({ ...base, cut: undefined }), /cut: is required/);
    assert.match(refused({ ...base, kind: 'Drill' }), /kind: must be DrillScenario/);
    assert.match(refused({ ...base, steps: ['promote', 'reboot'] }), /steps\[1\]: must be one of promote, cut-primary, verify-dr, failback/);
    assert.match(refused({ ...base, schedule: 'every monday' }), /schedule: must be a cron schedule/);
    assert.match(refused({ ...base, config: undefined }), /config: /);
  });

  it('keeps the steps in order, once each, and failback only after a cut', () => {
    assert.match(refused({ ...base, steps: ['verify-dr', 'promote'] }), /steps: must keep the order/);
    assert.match(refused({ ...base, steps: ['promote', 'promote'] }), /steps\[1\]: promote appears twice/);
    assert.match(refused({ ...base, steps: ['promote', 'failback'] }), /failback needs cut-primary/);
    assert.deepEqual(parseScenario({ ...base, steps: ['verify-dr'] }, '/d/s.yaml').steps, ['verify-dr']);
  });

  it('takes command cuts as argv lists or safely split strings, never for a shell', () => {
    const s = parseScenario({ ...base, cut: { type: 'command', run: ['./cut.sh', 'primary zone'], undo: "iptables -D OUTPUT -d '10.0.0.1' -j DROP" } }, '/drills/s.yaml');
    assert.equal(s.cut.type, 'command');
    if (s.cut.type !== 'command') return;
    assert.deepEqual(s.cut.run, ['/drills/cut.sh', 'primary zone']);
    assert.deepEqual(s.cut.undo, ['iptables', '-D', 'OUTPUT', '-d', '10.0.0.1', '-j', 'DROP']);
    assert.equal(s.cut.cwd, '/drills');
    assert.equal(s.cut.timeoutMs, 60_000);
    assert.match(refused({ ...base, cut: { type: 'command', run: 'curl x | sh', undo: 'true' } }), /cut\.run: "\|" would need a shell/);
    assert.match(refused({ ...base, cut: { type: 'command', run: 'echo $HOME', undo: 'true' } }), /cut\.run: "\$" would need a shell/);
    assert.match(refused({ ...base, cut: { type: 'command', run: [], undo: 'true' } }), /cut\.run: must name a program/);
    assert.match(refused({ ...base, cut: { type: 'command', run: 'true' } }), /cut\.undo: /);
  });

  it('takes a cordon cut with a label selector, and refuses a missing, empty or malformed one naming cut.nodeSelector', () => {
    const s = parseScenario({ ...base, cut: { type: 'cordon', nodeSelector: ' topology.kubernetes.io/zone in (eu-a, eu-b) ' } }, '/drills/s.yaml');
    assert.deepEqual(s.cut, { type: 'cordon', nodeSelector: 'topology.kubernetes.io/zone in (eu-a, eu-b)' });
    assert.match(refused({ ...base, cut: { type: 'cordon' } }), /cut\.nodeSelector: is required: a label selector of primary's nodes/);
    assert.match(refused({ ...base, cut: { type: 'cordon', nodeSelector: '  ' } }), /cut\.nodeSelector: must not be empty \(it would select every node\)/);
    for (const bad of ['zone=a b', 'zone in (a', 'a=b,', '-a=b']) {
      const msg = refused({ ...base, cut: { type: 'cordon', nodeSelector: bad } });
      assert.match(msg, /cut\.nodeSelector: must be a label selector as kubectl get nodes -l takes it: key=value, /, bad);
      assert.doesNotMatch(msg, /must not be empty/, bad);
    }
    for (const ok of ['type=kwok', 'pool notin (gpu),!spot', 'node-role.kubernetes.io/worker']) assert.equal(parseScenario({ ...base, cut: { type: 'cordon', nodeSelector: ok } }, '/d/s.yaml').cut.type, 'cordon', ok);
    assert.match(refused({ ...base, cut: { type: 'cordon', nodeSelector: 'pool=gpu', zone: 'a' } }), /cut\.zone: unknown field/);
    assert.match(refused({ ...base, cut: { type: 'cordon', nodeSelector: ['pool=gpu'] } }), /cut\.nodeSelector: /);
  });

  it('splitCommand quotes and refuses unterminated quotes', () => {
    assert.deepEqual(splitCommand(`a "b c" 'd e'f  g`), ['a', 'b c', 'd ef', 'g']);
    assert.deepEqual(splitCommand(`x ""`), ['x', '']);
    assert.throws(() => splitCommand('a "b'), /unterminated/);
  });

  it('refuses a missing file and bad YAML with CONFIG_INVALID', () => {
    assert.throws(() => loadScenario('/nonexistent/drill.yaml'), (e: unknown) => e instanceof RelayError && e.code === 'CONFIG_INVALID' && /drill scenario \/nonexistent\/drill\.yaml cannot be read \(ENOENT\)/.test(e.message));
    const dir = mkdtempSync(join(tmpdir(), 'rr-scenario-'));
    writeFileSync(join(dir, 'bad.yaml'), 'a: [1, 2\n');
    assert.throws(() => loadScenario(join(dir, 'bad.yaml')), (e: unknown) => e instanceof RelayError && e.code === 'CONFIG_INVALID' && /not valid YAML/.test(e.message));
  });
});
