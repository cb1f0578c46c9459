import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readArchiveManifests } from '../../../src/github/archive.js';
import { isRelayError, type RelayErrorCode } from '../../../src/errors.js';
import { gitArchive } from '../../helpers/git-archive.js';
import { rawTar, type RawEntry } from '../../helpers/raw-tar.js';

const SHA = '900f3f818d8c2ac46196b3cdaee655d1ee986381';

/** A pax record: "<len> key=value\n" where len counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

function archive(entries: RawEntry[], opts: { comment?: string } = {}): Buffer {
  const pax: RawEntry[] = opts.comment === undefined ? [] : [{ name: 'pax_global_header', type: 'g', data: paxRecord('comment', opts.comment), gname: '' }];
  return gzipSync(rawTar([...pax, ...entries.map((e) => ({ gname: '', ...e }))]));
}

function* chunks(buf: Buffer, size = 7): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function refused(p: Promise<unknown>, code: RelayErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isRelayError(err, code), `want ${code}, got ${String(err)}`);
    return true;
  });
}

const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n';

describe('github/archive: reading an untrusted repository archive', () => {
  it('keeps only manifests under the path, in directory-walk order, with the commit from the pax header (real git archive)', async () => {
    const { commit, tarGz } = gitArchive({
      'README.md': '# deploy\n',
      'apps/checkout/b/svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n',
      'apps/checkout/a-b.yml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n',
      'apps/checkout/deploy.yaml': DEPLOY,
      'apps/checkout/.hidden/x.yaml': DEPLOY,
      'apps/checkout/notes.txt': 'not a manifest',
      'apps/other/deploy.yaml': DEPLOY,
    });
    const r = await readArchiveManifests(chunks(tarGz, 100), { path: 'apps/checkout' });
    assert.equal(r.commit, commit);
    assert.match(r.root, /^octokit-fixture-org-get-archive-[0-9a-f]{7}$/);
    assert.deepEqual(r.files.map((f) => f.path), ['a-b.yml', 'b/svc.yaml', 'deploy.yaml']);
    assert.equal(r.pathFound, true);
    assert.equal(r.compressedBytes, tarGz.length);
  });

  it('says when the path is absent', async () => {
    const { tarGz } = gitArchive({ 'apps/a.yaml': DEPLOY });
    const r = await readArchiveManifests([tarGz], { path: 'apps/missing' });
    assert.equal(r.pathFound, false);
    assert.deepEqual(r.files, []);
  });

  it('refuses a symlink under the selected path (real git archive) and skips one elsewhere', async () => {
    const linked = gitArchive({ 'apps/a.yaml': DEPLOY }, { symlinks: { 'apps/link.yaml': '../../etc/passwd' } });
    await refused(readArchiveManifests([linked.tarGz], { path: 'apps' }), 'UNSAFE_ENTRY');
    const elsewhere = gitArchive({ 'apps/a.yaml': DEPLOY }, { symlinks: { 'docs/link': '/etc' } });
    const r = await readArchiveManifests([elsewhere.tarGz], { path: 'apps' });
    assert.deepEqual(r.files.map((f) => f.path), ['a.yaml']);
  });

  const top = 'acme-deploy-900f3f8';
  const hostile: [string, RawEntry[], RelayErrorCode][] = [
    ['a ".." path', [{ name: `${top}/`, type: '5' }, { name: `${top}/../../escape.yaml`, data: DEPLOY }], 'UNSAFE_ENTRY'],
    ['an absolute path', [{ name: '/etc/cron.d/x.yaml', data: DEPLOY }], 'UNSAFE_ENTRY'],
    ['an entry outside the top directory', [{ name: `${top}/`, type: '5' }, { name: 'other/x.yaml', data: DEPLOY }], 'UNSAFE_ENTRY'],
    ['a hard link under the path', [{ name: `${top}/`, type: '5' }, { name: `${top}/x.yaml`, type: '1', linkname: `${top}/y.yaml` }], 'UNSAFE_ENTRY'],
    ['a FIFO under the path', [{ name: `${top}/`, type: '5' }, { name: `${top}/fifo.yaml`, type: '6' }], 'UNSAFE_ENTRY'],
    ['a backslash path', [{ name: `${top}/a\\..\\b.yaml`, data: DEPLOY }], 'UNSAFE_ENTRY'],
  ];
  for (const [what, entries, code] of hostile) {
    it(`refuses ${what} with ${code}`, async () => {
      await refused(readArchiveManifests([archive(entries, { comment: SHA })], { path: '' }), code);
    });
  }

  it('caps one manifest file, all manifests, entries, the download and the unpacked size (TOO_LARGE)', async () => {
    const big = archive([{ name: `${top}/`, type: '5' }, { name: `${top}/a.yaml`, data: 'x'.repeat(5000) }, { name: `${top}/b.yaml`, data: 'y'.repeat(5000) }], { comment: SHA });
    await refused(readArchiveManifests([big], { path: '', limits: { maxFileBytes: 4000 } }), 'TOO_LARGE');
    await refused(readArchiveManifests([big], { path: '', limits: { maxManifestBytes: 8000 } }), 'TOO_LARGE');
    await refused(readArchiveManifests([big], { path: '', limits: { maxEntries: 2 } }), 'TOO_LARGE');
    await refused(readArchiveManifests([big], { path: '', limits: { maxArchiveBytes: big.length - 1 } }), 'TOO_LARGE');
    // A gzip bomb: 16 MiB of zeros inside a tar entry compresses to ~16 KiB.
    const bomb = gzipSync(rawTar([{ name: `${top}/`, type: '5', gname: '' }, { name: `${top}/zeros.bin`, data: Buffer.alloc(16 * 1024 * 1024), gname: '' }]));
    assert.ok(bomb.length < 1024 * 1024);
    await refused(readArchiveManifests([bomb], { path: '', limits: { maxUnpackedBytes: 2 * 1024 * 1024 } }), 'TOO_LARGE');
  });

  it('refuses what is not a gzip\'d tar, and non-UTF-8 manifests (MALFORMED)', async () => {
    await refused(readArchiveManifests([Buffer.from('<html>not an archive</html>')], { path: '' }), 'MALFORMED');
    await refused(readArchiveManifests([gzipSync(Buffer.alloc(0))], { path: '' }), 'MALFORMED');
    const latin1 = archive([{ name: `${top}/`, type: '5' }, { name: `${top}/a.yaml`, data: Buffer.from([0x61, 0xe9, 0x0a]) }], { comment: SHA });
    await refused(readArchiveManifests([latin1], { path: '' }), 'MALFORMED');
  });

  it('reports no commit when the archive has no pax comment', async () => {
    const r = await readArchiveManifests([archive([{ name: `${top}/`, type: '5' }, { name: `${top}/a.yaml`, data: DEPLOY }])], { path: '' });
    assert.equal(r.commit, undefined);
    assert.deepEqual(r.files.map((f) => f.path), ['a.yaml']);
  });
});
