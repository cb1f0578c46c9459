import assert from 'node:assert/strict';
import { buildIndex, fileEntry, inspectBundle, readBundleBytes, serializeIndex, writeBundleFile, type TargetDifferences } from '../../../src/bundle/index.js';
import { expectCode, sampleBundle, sampleMeta, sampleObjects, tempDir } from '../../helpers/bundle-fixtures.js';
import { rawTar, type RawEntry } from '../../helpers/raw-tar.js';
import { join } from 'node:path';

const shenzhen: TargetDifferences = {
  target: 'shenzhen',
  overrides: [{ name: 'db', select: { kind: 'ConfigMap', name: 'web-*' }, mergePatch: { data: { db: 'dr-db.internal' } } }],
  ignoreFields: [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/replicas'] }],
};
const hongkong: TargetDifferences = { target: 'hongkong', overrides: [{ jsonPatch: [{ op: 'replace', path: '/spec/replicas', value: 1 }], select: { kind: 'Deployment' } }], ignoreFields: [] };

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n';
const GOOD = { name: 'manifests/00001-configmap-_-c.yaml', data: CM };
function tarWith(extra: { name: string; data: string }[], listed = extra, overridesFirst = true): Buffer {
  const files = [GOOD, ...listed];
  const index = buildIndex(sampleMeta(), files.map((f) => fileEntry({ path: f.name, data: Buffer.from(f.data) })));
  const entries: RawEntry[] = [{ name: 'index.json', data: serializeIndex(index) }, ...(overridesFirst ? [...extra, GOOD] : [GOOD, ...extra])];
  return rawTar(entries);
}

describe('bundle: per-target overrides files', () => {
  it('round-trips: overrides/<target>.json listed in index.json with digests, format 1.1, read back per target', async () => {
    const created = sampleBundle({ differences: [shenzhen, hongkong, { target: 'empty', overrides: [], ignoreFields: [] }] });
    assert.equal(created.index.formatVersion, '1.1');
    const paths = created.index.files.map((f) => f.path);
    assert.deepEqual(paths.filter((p) => p.startsWith('overrides/')), ['overrides/hongkong.json', 'overrides/shenzhen.json'], 'sorted; a target with nothing has no file');
    const read = await readBundleBytes(created.bytes);
    assert.deepEqual(read.objects, created.objects);
    assert.deepEqual([...read.differences.keys()].sort(), ['hongkong', 'shenzhen']);
    assert.deepEqual(read.differences.get('shenzhen')!.differences, shenzhen);
    assert.equal(read.differences.get('shenzhen')!.sha256, created.index.files.find((f) => f.path === 'overrides/shenzhen.json')!.sha256);
  });

  it('is deterministic (key order and target order do not matter) and leaves bundles without overrides as they were', () => {
    const a = sampleBundle({ differences: [shenzhen, hongkong] });
    const reordered = JSON.parse(JSON.stringify({ ignoreFields: shenzhen.ignoreFields, overrides: shenzhen.overrides, target: 'shenzhen' })) as TargetDifferences;
    const b = sampleBundle({ differences: [hongkong, reordered] });
    assert.equal(a.digest, b.digest);
    const plain = sampleBundle();
    assert.equal(plain.index.formatVersion, '1.0');
    assert.equal(sampleBundle({ differences: [] }).digest, plain.digest);
  });

  it('inspect shows the overrides per target', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'b.bundle.tar');
      await writeBundleFile(path, sampleObjects(), sampleMeta({ differences: [shenzhen] }));
      const inspected = await inspectBundle(path);
      assert.equal(inspected.objects.length, 4, 'overrides files are not objects');
      assert.deepEqual(inspected.overrides.map((o) => [o.target, o.path, o.overrides.length, o.ignoreFields.length]), [['shenzhen', 'overrides/shenzhen.json', 1, 1]]);
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a tampered overrides file (FILE_DIGEST_MISMATCH), an unlisted one, and malformed or mismatched content', async () => {
    const good = JSON.stringify({ target: 'shenzhen', overrides: [], ignoreFields: [{ kind: 'Deployment', pointers: ['/spec/replicas'] }] });
    assert.equal((await readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: good }]))).differences.size, 1);
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: good.replace('replicas', 'REPLICAS') }], [{ name: 'overrides/shenzhen.json', data: good }])), 'FILE_DIGEST_MISMATCH');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: good }], [])), 'UNLISTED_ENTRY');
    // After a manifest, a streaming verifier would already have judged objects without the overrides.
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: good }], undefined, false)), 'MALFORMED');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/other.json', data: good }])), 'MALFORMED');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: '{"target":"shenzhen","overrides":[{"mergePatch":{},"evil":1}],"ignoreFields":[]}' }])), 'MALFORMED');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: '['.repeat(100) + ']'.repeat(100) }])), 'MALFORMED');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/shenzhen.json', data: ' '.repeat(1024 * 1024 + 1) }])), 'TOO_LARGE');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/../x.json', data: good }], [])), 'UNSAFE_ENTRY');
    await expectCode(() => readBundleBytes(tarWith([{ name: 'overrides/Shenzhen.json', data: good }])), 'MALFORMED');
  });
});
