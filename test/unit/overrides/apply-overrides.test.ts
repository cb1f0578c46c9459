import assert from 'node:assert/strict';
import { prepareObjects, type KubeObject, type TargetDifferences } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';
import { applyMergePatch, applyOverrides, OverrideSet, selectorMatches } from '../../../src/overrides/index.js';
import { sampleObjects } from '../../helpers/bundle-fixtures.js';

const objects = (): KubeObject[] => prepareObjects(sampleObjects()).objects;
const diffs = (overrides: TargetDifferences['overrides']): TargetDifferences => ({ target: 'shenzhen', overrides, ignoreFields: [] });

function refusal(fn: () => unknown, code: string): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(isRelayError(err) && err.code === code, `expected ${code}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('overrides: merge patch (RFC 7386)', () => {
  it('follows the RFC 7386 appendix examples', () => {
    const cases: [unknown, unknown, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, want] of cases) assert.deepEqual(applyMergePatch(target, patch), want, JSON.stringify({ target, patch }));
  });

  it('never changes its inputs and keeps "__proto__" as data', () => {
    const target = { a: { b: 1 } };
    const patch = JSON.parse('{"a":{"c":2},"__proto__":{"polluted":true}}') as unknown;
    const out = applyMergePatch(target, patch) as Record<string, unknown>;
    assert.deepEqual(target, { a: { b: 1 } });
    assert.deepEqual(out.a, { b: 1, c: 2 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.ok(Object.hasOwn(out, '__proto__'));
  });
});

describe('overrides: selectors', () => {
  it('match group, kind, namespace and name globs; omitted fields match anything', () => {
    const [ns, cm] = objects();
    assert.equal(ns!.kind, 'Namespace'); // apply order: Namespace, ConfigMap, Service, Deployment
    assert.ok(selectorMatches(undefined, ns!));
    assert.ok(selectorMatches({ group: '', kind: 'ConfigMap', namespace: 'shop', name: 'web-*' }, cm!));
    assert.ok(!selectorMatches({ group: 'apps', kind: 'ConfigMap' }, cm!));
    assert.ok(!selectorMatches({ namespace: 'sh?' }, cm!));
    assert.ok(selectorMatches({ namespace: 'sh??' }, cm!));
    assert.ok(selectorMatches({ namespace: '' }, ns!), 'cluster-scoped objects have namespace ""');
  });
});

describe('overrides: applying a target\'s overrides', () => {
  it('applies merge and JSON patches in order to exactly the selected objects and records them', () => {
    const input = objects();
    const before = JSON.stringify(input);
    const { objects: out, applied } = applyOverrides(input, diffs([
      { name: 'db', select: { kind: 'ConfigMap', name: 'web-*' }, mergePatch: { data: { db: 'dr-db.internal', enabled: null } } },
      { select: { group: 'apps', kind: 'Deployment' }, jsonPatch: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'mirror.dr/nginx:1.27' }] },
      { name: 'label-all', select: { namespace: 'shop' }, mergePatch: { metadata: { labels: { site: 'dr' } } } },
    ]), { code: 'PREFLIGHT_FAILED' });
    assert.equal(JSON.stringify(input), before, 'inputs are not changed');
    const cm = out.find((o) => o.kind === 'ConfigMap')!;
    assert.deepEqual(cm.data, { 'app.properties': 'color=blue\n', db: 'dr-db.internal' });
    assert.deepEqual(cm.metadata.labels, { site: 'dr' });
    const d = out.find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } };
    assert.equal(d.spec.template.spec.containers[0]!.image, 'mirror.dr/nginx:1.27');
    assert.deepEqual(Object.keys(cm), [...Object.keys(cm)].sort(), 'patched objects stay canonical (sorted keys)');
    assert.deepEqual(applied, [
      { name: 'db', type: 'mergePatch', objects: ['ConfigMap shop/web-config'] },
      { name: 'overrides[1]', type: 'jsonPatch', objects: ['apps/Deployment shop/web'] },
      { name: 'label-all', type: 'mergePatch', objects: ['ConfigMap shop/web-config', 'Service shop/web', 'apps/Deployment shop/web'] },
    ]);
    assert.equal(out.find((o) => o.kind === 'Namespace'), input.find((o) => o.kind === 'Namespace'), 'unselected objects are passed through as they are');
  });

  it('refuses, naming the override: a patch that does not apply, a failed test op, a selector that matches nothing', () => {
    const err = refusal(() => applyOverrides(objects(), diffs([
      { name: 'bad-path', select: { kind: 'Deployment' }, jsonPatch: [{ op: 'replace', path: '/spec/nothing/here', value: 1 }] },
      { name: 'guard', select: { kind: 'ConfigMap' }, jsonPatch: [{ op: 'test', path: '/data/enabled', value: 'no' }, { op: 'remove', path: '/data/enabled' }] },
      { name: 'typo', select: { kind: 'Ingres' }, mergePatch: { spec: {} } },
    ]), { code: 'CONFIG_INVALID' }), 'CONFIG_INVALID');
    assert.match(err.message, /target shenzhen: 3 bad overrides; nothing was written/);
    assert.match(err.message, /override "bad-path" does not apply to apps\/Deployment shop\/web: OPERATION_PATH_UNRESOLVABLE/);
    assert.match(err.message, /override "guard" does not apply to ConfigMap shop\/web-config: TEST_OPERATION_FAILED/);
    assert.match(err.message, /override "typo": its selector matches no object of the bundle/);
  });

  it('refuses a patch into an immutable field or the identity, and prototype pollution through a JSON patch', () => {
    const err = refusal(() => applyOverrides(objects(), diffs([
      { name: 'ip', select: { kind: 'Service' }, mergePatch: { spec: { clusterIP: '10.0.0.9' } } },
      { name: 'sel', select: { kind: 'Deployment' }, jsonPatch: [{ op: 'add', path: '/spec/selector/matchLabels/tier', value: 'x' }] },
      { name: 'move-name', select: { kind: 'ConfigMap' }, jsonPatch: [{ op: 'copy', from: '/data/enabled', path: '/metadata/name' }] },
      { name: 'proto', select: { kind: 'Namespace' }, jsonPatch: [{ op: 'add', path: '/__proto__/polluted', value: true }] },
    ]), { code: 'PREFLIGHT_FAILED' }), 'PREFLIGHT_FAILED');
    assert.match(err.message, /override "ip" changes \/spec\/clusterIP, \/spec\/clusterIPs of Service shop\/web|override "ip" changes \/spec\/clusterIP of Service shop\/web/);
    assert.match(err.message, /override "sel" changes \/spec\/selector of apps\/Deployment shop\/web/);
    assert.match(err.message, /override "move-name" changes the identity of ConfigMap shop\/web-config/);
    assert.match(err.message, /override "proto" does not apply to Namespace shop/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('patches one object at a time for a streaming verifier; finish reports what was applied', () => {
    const set = new OverrideSet(diffs([{ select: { kind: 'ConfigMap' }, mergePatch: { data: { a: 'b' } } }]), { code: 'PREFLIGHT_FAILED' });
    for (const o of objects()) set.patch(o);
    assert.deepEqual(set.finish(), [{ name: 'overrides[0]', type: 'mergePatch', objects: ['ConfigMap shop/web-config'] }]);
  });

  it('one config, many applications: an override pinned to another namespace is not for this application (no refusal, not recorded)', () => {
    const { applied } = applyOverrides(objects(), diffs([
      { name: 'here', select: { namespace: 'shop', kind: 'ConfigMap' }, mergePatch: { data: { a: 'b' } } },
      { name: 'elsewhere', select: { namespace: 'billing', kind: 'Ingress' }, mergePatch: { spec: {} } },
      { name: 'glob-elsewhere', select: { namespace: 'bill*' }, mergePatch: { metadata: { labels: { x: 'y' } } } },
    ]), { code: 'CONFIG_INVALID', applicationNamespace: 'shop' });
    assert.deepEqual(applied.map((a) => a.name), ['here']);
    const err = refusal(() => applyOverrides(objects(), diffs([{ name: 'any-ns', select: { kind: 'Ingress' }, mergePatch: { spec: {} } }]), { code: 'CONFIG_INVALID', applicationNamespace: 'shop' }), 'CONFIG_INVALID');
    assert.match(err.message, /override "any-ns": its selector matches no object of the application \(namespace shop\); give it a select.namespace/);
  });
});
