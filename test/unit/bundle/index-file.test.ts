import assert from 'node:assert/strict';
import { fileSchema, isPlainFileEntry } from '../../../src/bundle/index-file.js';

describe('bundle/index-file: the fast check of index.json file entries', () => {
  const good = { path: 'manifests/0001-v1-configmap-shop-web.yaml', size: 120, sha256: 'a'.repeat(64) };

  it('accepts a plain entry, a manifest or an overrides file', () => {
    assert.ok(isPlainFileEntry(good));
    assert.ok(isPlainFileEntry({ ...good, path: 'overrides/shenzhen.json' }));
    assert.ok(isPlainFileEntry({ ...good, size: 0 }));
  });

  it('leaves every doubtful entry to zod: extra or missing keys, wrong types, unsafe sizes, bad digests and paths', () => {
    for (const bad of [
      null, [], 'x', 1,
      { path: good.path, size: good.size },
      { ...good, extra: 1 },
      { ...good, size: -1 }, { ...good, size: 1.5 }, { ...good, size: 2 ** 53 }, { ...good, size: '1' }, { ...good, size: Number.NaN },
      { ...good, sha256: 'A'.repeat(64) }, { ...good, sha256: 'a'.repeat(63) },
      { ...good, path: '../x.yaml' }, { ...good, path: 'manifests/X.yaml' }, { ...good, path: 'index.json' },
      Object.assign(Object.create({ sha256: good.sha256 }), { path: good.path, size: 1, other: 1 }),
    ]) assert.equal(isPlainFileEntry(bad), false, JSON.stringify(bad));
  });

  it('never accepts what the schema refuses (random entries)', () => {
    const paths = [good.path, 'overrides/dr.json', 'manifests/a.yaml', 'manifests/.yaml', 'manifests/A.yaml', 'x', '', 'overrides/../a.json', 'manifests/a b.yaml'];
    const sizes: unknown[] = [0, 1, -0, -1, 0.5, 2 ** 53 - 1, 2 ** 53, Number.POSITIVE_INFINITY, Number.NaN, '3', null, true];
    const digests: unknown[] = ['a'.repeat(64), '0123456789abcdef'.repeat(4), 'g'.repeat(64), 'a'.repeat(65), '', 7];
    const extras: Record<string, unknown>[] = [{}, { more: 1 }, { path: 'manifests/b.yaml' }];
    let seed = 11;
    const pick = <T>(xs: readonly T[]): T => xs[((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % xs.length)]!;
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const entry: Record<string, unknown> = { ...pick(extras) };
      if (pick([true, true, true, false])) entry.path = pick(paths);
      if (pick([true, true, true, false])) entry.size = pick(sizes);
      if (pick([true, true, true, false])) entry.sha256 = pick(digests);
      if (isPlainFileEntry(entry)) {
        accepted++;
        assert.ok(fileSchema.safeParse(entry).success, JSON.stringify(entry));
      }
    }
    assert.ok(accepted > 100, 'the generator produces accepted entries too');
  });
});
