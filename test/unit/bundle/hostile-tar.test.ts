import assert from 'node:assert/strict';
import { buildIndex, fileEntry, readBundleBytes, scanBundle, serializeIndex } from '../../../src/bundle/index.js';
import { expectCode, sampleBundle, sampleMeta } from '../../helpers/bundle-fixtures.js';
import { rawHeader, rawTar, type RawEntry } from '../../helpers/raw-tar.js';
import { decodeHeader } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';

/** Re-computes a ustar header's checksum after a test changed its bytes. */
function refreshChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  Buffer.from(sum.toString(8).padStart(6, '0') + '\0 ').copy(block, 148);
}

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n';
const GOOD = { name: 'manifests/00001-configmap-_-c.yaml', data: CM };

/** index.json listing the given manifest files (with their real digests). */
function indexEntry(files: { name: string; data: string }[]): RawEntry {
  const index = buildIndex(sampleMeta(), files.map((f) => fileEntry({ path: f.name, data: Buffer.from(f.data) })));
  return { name: 'index.json', data: serializeIndex(index) };
}

const read = (bytes: Buffer) => readBundleBytes(bytes);

describe('bundle reader: hand-made hostile tars', () => {
  it('accepts the well-formed baseline (so each refusal below is caused by its one change)', async () => {
    const r = await read(rawTar([indexEntry([GOOD]), GOOD]));
    assert.equal(r.objects.length, 1);
    assert.equal(r.objects[0]!.kind, 'ConfigMap');
  });

  const unsafeTypes: [string, string][] = [
    ['1', 'hard link'],
    ['2', 'symbolic link'],
    ['3', 'character device'],
    ['4', 'block device'],
    ['5', 'directory'],
    ['6', 'FIFO'],
    ['x', 'pax extended header'],
    ['g', 'pax global header'],
    ['L', 'GNU long name'],
  ];
  for (const [type, label] of unsafeTypes) {
    it(`refuses a ${label} entry with UNSAFE_ENTRY`, async () => {
      const err = await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: GOOD.name, type, linkname: '/etc/passwd' }, GOOD])), 'UNSAFE_ENTRY');
      assert.match(err.message, new RegExp(label));
    });
  }

  const unsafePaths = ['/etc/passwd', 'manifests/../../etc/passwd', '../index.json', 'manifests/./x.yaml', 'manifests//x.yaml', 'manifests\\x.yaml', 'C:/x.yaml', 'manifests/a\u0001.yaml', ''];
  for (const name of unsafePaths) {
    it(`refuses path ${JSON.stringify(name)} with UNSAFE_ENTRY`, async () => {
      await expectCode(() => read(rawTar([indexEntry([GOOD]), { name, data: CM }])), 'UNSAFE_ENTRY');
    });
  }

  it('refuses a ".." path hidden in the ustar prefix field', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: '00001-configmap-_-c.yaml', prefix: 'manifests/..', data: CM }])), 'UNSAFE_ENTRY');
  });

  it('decodes header fields the way other tar writers write them (space-padded octal, prefix, UTF-8 names)', () => {
    const block = rawHeader({ name: 'manifests/x.yaml', data: 'abc' });
    Buffer.from('     3 \0\0\0\0').copy(block, 124); // leading spaces, trailing space and NULs
    refreshChecksum(block);
    assert.equal(decodeHeader(block).size, 3);
    Buffer.from('00000000003\0').copy(block, 124);
    refreshChecksum(block);
    assert.equal(decodeHeader(block).size, 3);
    for (const bad of ['0000000 0003', '0000000008\0\0', '00000000x3\0\0']) {
      Buffer.from(bad).copy(block, 124);
      refreshChecksum(block);
      assert.throws(() => decodeHeader(block), (err: unknown) => isRelayError(err, 'MALFORMED') && /size field is not an octal number/.test((err as Error).message), bad);
    }
    const utf8Name = rawHeader({ name: 'manifests/café.yaml', prefix: 'dir' });
    assert.equal(decodeHeader(utf8Name).path, 'dir/manifests/café.yaml');
  });

  it('refuses a name that is not valid UTF-8', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: '', nameBytes: Buffer.from([0x6d, 0xff, 0xfe, 0x2e]), data: CM }])), 'UNSAFE_ENTRY');
  });

  it('refuses an entry outside index.json and manifests/*.yaml', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: 'bin/run.sh', data: 'echo hi' }])), 'UNSAFE_ENTRY');
  });

  it('refuses a duplicate entry, even with identical content', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), GOOD, GOOD])), 'UNSAFE_ENTRY');
  });

  it('refuses a second index.json', async () => {
    const idx = indexEntry([GOOD]);
    await expectCode(() => read(rawTar([idx, GOOD, idx])), 'UNSAFE_ENTRY');
  });

  it('refuses a huge declared size before reading it (zip-bomb-like), TOO_LARGE', async () => {
    // 8 GiB - 1 in octal, the largest ustar size; only a header and no data follow.
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: GOOD.name, size: 0o77777777777 }], { noEnd: true })), 'TOO_LARGE');
  });

  it('refuses a base-256 (beyond 8 GiB) size field, TOO_LARGE', async () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field[11] = 0x01;
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: GOOD.name, sizeField: field }])), 'TOO_LARGE');
  });

  it('refuses an entry declaring more bytes than the archive holds, TOO_LARGE', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: GOOD.name, size: 4096, data: CM }])), 'TOO_LARGE');
  });

  it('applies the per-file and whole-bundle caps', async () => {
    const bytes = rawTar([indexEntry([GOOD]), GOOD]);
    await expectCode(() => readBundleBytes(bytes, { maxFileBytes: 10 }), 'TOO_LARGE');
    await expectCode(() => readBundleBytes(bytes, { maxIndexBytes: 100 }), 'TOO_LARGE');
    await expectCode(() => readBundleBytes(bytes, { maxBundleBytes: 2048 }), 'TOO_LARGE');
    await expectCode(() => readBundleBytes(bytes, { maxEntries: 1 }), 'TOO_LARGE');
  });

  it('refuses an entry that index.json does not list, UNLISTED_ENTRY', async () => {
    const extra = { name: 'manifests/00002-configmap-_-d.yaml', data: CM.replace('name: c', 'name: d') };
    await expectCode(() => read(rawTar([indexEntry([GOOD]), GOOD, extra])), 'UNLISTED_ENTRY');
  });

  it('refuses when a listed file is absent, MISSING_ENTRY', async () => {
    const other = { name: 'manifests/00002-configmap-_-d.yaml', data: CM.replace('name: c', 'name: d') };
    await expectCode(() => read(rawTar([indexEntry([GOOD, other]), GOOD])), 'MISSING_ENTRY');
  });

  it('refuses an archive without index.json, MISSING_ENTRY', async () => {
    await expectCode(() => read(rawTar([])), 'MISSING_ENTRY');
  });

  it('refuses index.json that is not the first entry, MALFORMED', async () => {
    await expectCode(() => read(rawTar([GOOD, indexEntry([GOOD])])), 'MALFORMED');
  });

  it('refuses changed file content, FILE_DIGEST_MISMATCH', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: GOOD.name, data: CM.replace('name: c', 'name: x') }])), 'FILE_DIGEST_MISMATCH');
  });

  it('refuses a size that differs from index.json, FILE_DIGEST_MISMATCH', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { name: GOOD.name, data: CM + '# extra\n' }])), 'FILE_DIGEST_MISMATCH');
  });

  it('refuses a bad header checksum, MALFORMED', async () => {
    await expectCode(() => read(rawTar([indexEntry([GOOD]), { ...GOOD, badChecksum: true }])), 'MALFORMED');
  });

  it('refuses non-ustar (v7) headers and foreign group tags, UNSUPPORTED_FORMAT', async () => {
    await expectCode(() => read(rawTar([{ ...indexEntry([GOOD]), magic: '\0\0\0\0\0\0\0\0' }, GOOD])), 'UNSUPPORTED_FORMAT');
    await expectCode(() => read(rawTar([{ ...indexEntry([GOOD]), gname: 'bundle-v2' }, GOOD])), 'UNSUPPORTED_FORMAT');
    await expectCode(() => read(rawTar([{ ...indexEntry([GOOD]), gname: 'root' }, GOOD])), 'UNSUPPORTED_FORMAT');
  });

  it('refuses an unknown index format major version, UNSUPPORTED_FORMAT', async () => {
    const idx = indexEntry([GOOD]);
    const data = Buffer.from(String(idx.data).replace('"formatVersion": "1.0"', '"formatVersion": "2.0"'));
    await expectCode(() => read(rawTar([{ name: 'index.json', data }, GOOD])), 'UNSUPPORTED_FORMAT');
  });

  it('refuses truncation, non-zero padding, and data after the end marker, MALFORMED', async () => {
    const good = rawTar([indexEntry([GOOD]), GOOD]);
    await expectCode(() => read(good.subarray(0, good.length - 512)), 'MALFORMED');
    // Without a known total size (a stream), a cut inside an entry is found at the end.
    await expectCode(() => scanBundle([good.subarray(0, 700)]), 'MALFORMED');
    await expectCode(() => read(rawTar([indexEntry([GOOD]), GOOD], { trailer: Buffer.from('junk') })), 'MALFORMED');
    const padded = Buffer.from(good);
    const padAt = 512 + Math.ceil(Buffer.byteLength(String(indexEntry([GOOD]).data)) / 512) * 512 + 512 + CM.length;
    padded[padAt] = 0x41;
    await expectCode(() => read(padded), 'MALFORMED');
  });

  it('refuses index.json that is not JSON or misses fields, MALFORMED', async () => {
    await expectCode(() => read(rawTar([{ name: 'index.json', data: '{not json' }])), 'MALFORMED');
    await expectCode(() => read(rawTar([{ name: 'index.json', data: '{"formatVersion":"1.0"}' }])), 'MALFORMED');
  });

  it('gives the same result for any chunking of the input (1-byte and odd-sized chunks)', async () => {
    const { bytes } = sampleBundle();
    const whole = await scanBundle([bytes], { keepManifests: true });
    for (const size of [1, 7, 511, 513, 4096]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const r = await scanBundle(chunks, { keepManifests: true });
      assert.equal(r.digest, whole.digest);
      assert.deepEqual(r.manifests, whole.manifests);
    }
  });
});
