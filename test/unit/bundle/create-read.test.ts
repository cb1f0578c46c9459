import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBundle, inspectBundle, loadManifestDir, manifestPath, parseDuration, readBundle, writeBundleFile } from '../../../src/bundle/index.js';
import { expectCode, sampleBundle, sampleMeta, sampleObjects, tempDir } from '../../helpers/bundle-fixtures.js';

const run = promisify(execFile);

describe('bundle create and read', () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.cleanup());

  it('round-trips: readBundle returns canonical objects in apply order and the same digest', async () => {
    const created = sampleBundle();
    const path = join(dir.path, 'a.bundle.tar');
    await writeBundleFile(path, sampleObjects(), sampleMeta());
    const read = await readBundle(path);
    assert.equal(read.digest, created.digest);
    assert.deepEqual(read.objects, created.objects);
    assert.deepEqual(read.objects.map((o) => o.kind), ['Namespace', 'ConfigMap', 'Service', 'Deployment']);
    assert.equal(read.objects[2]!.spec && (read.objects[2]!.spec as { clusterIP?: string }).clusterIP, undefined);
    assert.deepEqual(read.index.files.map((f) => f.path), ['manifests/00001-namespace-_-shop.yaml', 'manifests/00002-configmap-shop-web-config.yaml', 'manifests/00003-service-shop-web.yaml', 'manifests/00004-deployment-shop-web.yaml']);
  });

  it('writes index.json with format version, producer, source, sequence, times, targets and file digests', () => {
    const { index } = sampleBundle();
    assert.equal(index.formatVersion, '1.0');
    assert.equal(index.producer.name, 'rollout-relay');
    assert.deepEqual(index.source, { cluster: 'shanghai', namespace: 'shop', kind: 'Rollout', name: 'web', revision: '7', podTemplateHash: '6d4b9c' });
    assert.equal(index.application, 'shop/web');
    assert.equal(index.sequence, 7);
    assert.equal(index.createdAt, '2026-01-02T03:04:05Z');
    assert.deepEqual(index.targets, ['shenzhen']);
    for (const f of index.files) assert.match(f.sha256, /^[0-9a-f]{64}$/);
  });

  it('is deterministic: shuffled files, different mtimes and key order give identical bytes', async () => {
    const docs = sampleObjects().map((o) => JSON.stringify(o));
    const a = join(dir.path, 'a');
    const b = join(dir.path, 'b');
    mkdirSync(join(a, 'sub'), { recursive: true });
    mkdirSync(b);
    writeFileSync(join(a, 'all.yaml'), docs.slice(0, 2).join('\n---\n'));
    writeFileSync(join(a, 'sub', 'rest.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs.slice(2).map((d) => JSON.parse(d) as unknown) }));
    // b: one file per object, reversed, with keys in reverse order and old mtimes.
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverseKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)])) : v;
    docs.reverse().forEach((d, i) => {
      const p = join(b, `z${i}.yaml`);
      writeFileSync(p, JSON.stringify(reverseKeys(JSON.parse(d))));
      utimesSync(p, new Date(1000 * i), new Date(1000 * i));
    });
    const x = createBundle(await loadManifestDir(a), sampleMeta());
    const y = createBundle(await loadManifestDir(b), sampleMeta());
    assert.equal(x.digest, y.digest);
    assert.ok(x.bytes.equals(y.bytes));
  });

  it('writes a tar that GNU tar lists with fixed owner, mode and mtime', async () => {
    const path = join(dir.path, 'a.bundle.tar');
    await writeBundleFile(path, sampleObjects(), sampleMeta());
    const { stdout } = await run('tar', ['--numeric-owner', '-tvf', path]);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    for (const l of lines) assert.match(l, /^-rw-r--r-- 0\/0 +\d+ 1980-01-01 00:00 (index\.json|manifests\/)/);
  });

  it('keeps long names within one ustar name field and unique by order prefix', () => {
    const long = 'x'.repeat(200);
    const p = manifestPath({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: long, namespace: 'n' } }, 3);
    assert.ok(p.length <= 100);
    assert.match(p, /^manifests\/00003-configmap-n-x+\.yaml$/);
    const b = createBundle([{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:aggregate-to-edit' } }], sampleMeta());
    assert.equal(b.index.files[0]!.path, 'manifests/00001-clusterrole-_-system~aggregate-to-edit.yaml');
  });

  it('refuses the same object twice and an impossible expiry', async () => {
    const o = sampleObjects();
    await expectCode(() => createBundle([...o, o[1]], sampleMeta()), 'MALFORMED');
    await expectCode(() => createBundle(o, sampleMeta({ expiresAt: new Date('2000-01-01T00:00:00Z') })), 'USAGE');
  });

  it('reports dropped objects', () => {
    const b = createBundle([...sampleObjects(), { apiVersion: 'v1', kind: 'Secret', type: 'helm.sh/release.v1', metadata: { name: 'sh.helm.release.v1.web.v1', namespace: 'shop' } }], sampleMeta());
    assert.equal(b.objects.length, 4);
    assert.equal(b.dropped.length, 1);
  });

  it('inspectBundle lists objects with their digests', async () => {
    const path = join(dir.path, 'a.bundle.tar');
    const created = await writeBundleFile(path, sampleObjects(), sampleMeta());
    const r = await inspectBundle(path);
    assert.equal(r.digest, created.digest);
    assert.deepEqual(r.objects.map((o) => `${o.kind}/${o.name}`), ['Namespace/shop', 'ConfigMap/web-config', 'Service/web', 'Deployment/web']);
    assert.equal(r.objects[0]!.sha256, created.index.files[0]!.sha256);
  });

  it('refuses reading a missing file or a directory (USAGE)', async () => {
    await expectCode(() => readBundle(join(dir.path, 'nope.tar')), 'USAGE');
    await expectCode(() => readBundle(dir.path), 'USAGE');
  });

  it('parses durations', async () => {
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    for (const bad of ['', '10', 'h', '1x', '0s', '-1h']) await expectCode(() => parseDuration(bad), 'USAGE');
  });
});
