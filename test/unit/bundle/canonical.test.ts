import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicaliseObject, parseBundleManifest, parseManifestText, stringifyManifest, toCanonicalJson, type KubeObject } from '../../../src/bundle/index.js';
import { expectCode } from '../../helpers/bundle-fixtures.js';

const kept = (input: unknown): KubeObject => {
  const r = canonicaliseObject(input);
  assert.ok(r.object, `dropped: ${r.dropped}`);
  return r.object;
};

describe('bundle canonical form', () => {
  it('strips status, server-managed metadata, last-applied and Argo CD tracking', () => {
    const o = kept({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        uid: 'u',
        resourceVersion: '9',
        generation: 3,
        creationTimestamp: '2026-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubectl' }],
        ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'y', uid: 'z' }],
        labels: { app: 'web', 'argocd.argoproj.io/instance': 'shop' },
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web',
          'deployment.kubernetes.io/revision': '4',
          keep: 'me',
        },
      },
      spec: { replicas: 1 },
      status: { readyReplicas: 1 },
    });
    assert.deepEqual(o, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' }, annotations: { keep: 'me' } }, spec: { replicas: 1 } });
  });

  it('removes empty label/annotation maps after stripping', () => {
    const o = kept({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'argocd.argoproj.io/instance': 'x' }, annotations: { 'argocd.argoproj.io/tracking-id': 'x' } } });
    assert.deepEqual(o.metadata, { name: 'c' });
  });

  it('drops clusterIP/clusterIPs but keeps headless "None" and an explicit nodePort', () => {
    const svc = kept({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type: 'NodePort', clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1'], ports: [{ port: 80, nodePort: 30080 }] } });
    assert.deepEqual(svc.spec, { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] });
    const headless = kept({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { clusterIP: 'None', clusterIPs: ['None'] } });
    assert.deepEqual(headless.spec, { clusterIP: 'None', clusterIPs: ['None'] });
  });

  it('drops Helm release Secrets and controller-owned objects, saying why', () => {
    const helm = canonicaliseObject({ apiVersion: 'v1', kind: 'Secret', type: 'helm.sh/release.v1', metadata: { name: 'sh.helm.release.v1.web.v3' } });
    assert.match(helm.dropped ?? '', /Helm release/);
    const owned = canonicaliseObject({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-6d4b9c', ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'u', controller: true }] } });
    assert.match(owned.dropped ?? '', /owned by a controller/);
  });

  it('sorts keys deeply so key order in the input does not matter', () => {
    const a = kept({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { namespace: 'n', name: 'c' }, data: { b: '1', a: '2' } });
    const b = kept({ data: { a: '2', b: '1' }, metadata: { name: 'c', namespace: 'n' }, apiVersion: 'v1', kind: 'ConfigMap' });
    assert.equal(stringifyManifest(a), stringifyManifest(b));
    assert.deepEqual(Object.keys(a), ['apiVersion', 'data', 'kind', 'metadata']);
  });

  it('refuses non-objects and objects without apiVersion, kind or a valid name (MALFORMED)', async () => {
    for (const bad of [null, [], 'x', { kind: 'ConfigMap', metadata: { name: 'c' } }, { apiVersion: 'v1', metadata: { name: 'c' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '../x' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'Bad_NS' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: 1 } } }]) {
      await expectCode(() => canonicaliseObject(bad), 'MALFORMED');
    }
  });

  it('refuses values that are not plain JSON (dates, NaN)', async () => {
    await expectCode(() => toCanonicalJson({ a: new Date() }), 'MALFORMED');
    await expectCode(() => toCanonicalJson({ a: Number.NaN }), 'MALFORMED');
  });

  it('reads YAML the way kubectl does: multi-document, List, yes/no, merge keys; timestamps stay strings', () => {
    const objs = parseManifestText(
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {when: 2026-01-01, flag: "yes"}',
        '---',
        '# empty document',
        '---',
        'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}',
        '---',
        'base: &b {x: 1}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\nspec:\n  <<: *b\n  on: yes',
      ].join('\n'),
      'm.yaml',
    );
    assert.equal(objs.length, 4);
    assert.deepEqual((objs[0] as { data: unknown }).data, { when: '2026-01-01', flag: 'yes' });
    assert.deepEqual((objs[3] as { spec: unknown }).spec, { x: 1, true: true });
  });

  it('refuses invalid YAML and duplicate keys naming the file (MALFORMED)', async () => {
    const e = await expectCode(() => parseManifestText('a: [1, 2', 'broken.yaml'), 'MALFORMED');
    assert.match(e.message, /broken\.yaml/);
    await expectCode(() => parseManifestText('a: 1\na: 2\n', 'dup.yaml'), 'MALFORMED');
    await expectCode(() => parseManifestText('{"a":', 'x.json'), 'MALFORMED');
  });

  it('round-trips: parse(stringify(obj)) equals obj, and output quotes YAML 1.1 look-alikes (property, seeded)', () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`      fast-check seed ${seed}`);
    const scalar = fc.oneof(fc.string(), fc.constantFrom('yes', 'no', 'on', 'off', '0777', '1:20', '2026-01-01', '~', 'null', '1e3', '0x1f', '.nan', '-', '- x', ': y', '#z'), fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string({ minLength: 1 }), tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), value, { maxKeys: 5 }), (data) => {
        const obj = toCanonicalJson({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data }) as unknown as KubeObject;
        const back = parseBundleManifest(Buffer.from(stringifyManifest(obj)), 'manifests/x.yaml');
        assert.deepEqual(back, JSON.parse(JSON.stringify(obj)));
      }),
      { seed, numRuns: 300 },
    );
  });
});
