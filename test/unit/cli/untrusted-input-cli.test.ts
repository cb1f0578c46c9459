/* eslint-disable no-control-regex -- these tests look for control characters on purpose */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIndex, fileEntry, INDEX_PATH, serializeIndex, tarChunks } from '../../../src/bundle/index.js';
import { statusTable } from '../../../src/cli/commands/status.js';
import { formatError, RelayError } from '../../../src/errors.js';
import { printable, printableMessage } from '../../../src/printable.js';
import type { StatusRecord } from '../../../src/status/model.js';
import { sampleMeta, tempDir } from '../../helpers/bundle-fixtures.js';
import { runCliInProcess as cli } from './run-cli.js';

const ESC = '\u001b';
const MANIFEST = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n';

describe('CLI: untrusted strings and bundle create inputs', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => void };
  let m: string;
  beforeEach(() => {
    dir = tempDir();
    m = join(dir.path, 'm');
    mkdirSync(m);
    writeFileSync(join(m, 'ns.yaml'), MANIFEST);
  });
  afterEach(() => dir.cleanup());

  describe('escaping', () => {
    it('printable escapes C0/C1 controls, DEL, bidi overrides, line separators and backslashes', () => {
      assert.equal(printable(`a${ESC}[2Kb`), 'a\\x1b[2Kb');
      assert.equal(printable('\u009b31m\u007f'), '\\x9b31m\\x7f');
      assert.equal(printable('x\u202egnp.exe\u2028y\\'), 'x\\u{202e}gnp.exe\\u{2028}y\\\\');
      assert.equal(printable('plain shop/web-1 ünïcode'), 'plain shop/web-1 ünïcode');
      assert.equal(printableMessage(`bad ${ESC}[1A\nverified sha256:00`), 'bad \\x1b[1A\n  verified sha256:00');
    });

    it('error messages quoting untrusted text cannot move the cursor or fake a line', () => {
      const text = formatError(new RelayError('MALFORMED', `name ${ESC}[1A${ESC}[2K\rverified ok\ntrusted`));
      assert.doesNotMatch(text, /[\u001b\r]/);
      assert.ok(text.split('\n').slice(1).every((l) => l.startsWith('  ')));
      assert.doesNotMatch(formatError(new Error(`x${ESC}]0;title\u0007`)), /[\u001b\u0007]/);
    });

    it('bundle inspect escapes every string of the unverified bundle; the UNVERIFIED line survives', async () => {
      // A hand-made bundle whose object name and apiVersion carry terminal escapes (create would refuse them).
      const manifest = { path: 'manifests/00001-configmap-shop-x.yaml', data: Buffer.from(`apiVersion: "v1${ESC}[8m"\nkind: ConfigMap\nmetadata:\n  name: "${'\\e'}[1A${'\\e'}[2K\\rall good, signature verified"\n  namespace: shop\n`) };
      const index = buildIndex(sampleMeta(), [fileEntry(manifest)]);
      const bundle = join(dir.path, 'evil.bundle.tar');
      writeFileSync(bundle, Buffer.concat([...tarChunks([{ path: INDEX_PATH, data: serializeIndex(index) }, manifest])]));
      const r = await cli('bundle', 'inspect', bundle);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character reaches the terminal');
      assert.match(r.stdout, /\\x1b\[1A\\x1b\[2K\\x0dall good/);
      assert.match(r.stdout.split('\n')[0]!, /UNVERIFIED/);
    });

    it('the status table escapes ConfigMap values', () => {
      const record = { state: 'completed', revision: `7${ESC}[2K`, sequence: 3, bundleDigest: 'sha256:ab', finishedAt: '', message: `ok${ESC}]8;;http://x\u0007` } as unknown as StatusRecord;
      const table = statusTable([{ namespace: 'shop', name: `web${ESC}[31m`, record }]);
      assert.doesNotMatch(table, /[\u001b\u0007]/);
      assert.match(table, /web\\x1b\[31m/);
    });
  });

  describe('bundle create', () => {
    const create = (...extra: string[]) => cli('bundle', 'create', '--from', m, '--out', join(dir.path, 'a.bundle.tar'), '--namespace', 'shop', '--name', 'web', '--target', 'shenzhen', ...extra);

    it('refuses deeply nested JSON with MALFORMED, not error INTERNAL', async () => {
      writeFileSync(join(m, 'deep.json'), `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"shop"},"data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
      const r = await create('--sequence', '1');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error MALFORMED: deep\.json nests deeper than 512 levels/);
    });

    it('refuses an application name that could never be applied: INVALID_NAME', async () => {
      const r = await cli('bundle', 'create', '--from', m, '--out', join(dir.path, 'a.bundle.tar'), '--namespace', 'shop', '--name', '__proto__', '--sequence', '1');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error INVALID_NAME: application "shop\/__proto__"/);
    });

    it('refuses --created-at dates that do not exist (USAGE)', async () => {
      for (const t of ['2026-02-31T00:00:00Z', '2026-01-01T24:00:00Z', 'yesterday']) {
        const r = await create('--created-at', t, '--sequence', '1');
        assert.equal(r.code, 2, t);
        assert.match(r.stderr, /^error USAGE: --created-at/);
      }
    });

    describe('SOURCE_DATE_EPOCH', () => {
      const saved = process.env.SOURCE_DATE_EPOCH;
      afterEach(() => (saved === undefined ? delete process.env.SOURCE_DATE_EPOCH : (process.env.SOURCE_DATE_EPOCH = saved)));
      const EPOCH = '1767225600'; // 2026-01-01T00:00:00Z

      it('pins createdAt (and the default sequence) so two runs give byte-identical bundles', async () => {
        process.env.SOURCE_DATE_EPOCH = EPOCH;
        const a = await cli('bundle', 'create', '--from', m, '--out', join(dir.path, 'a.tar'), '--namespace', 'shop', '--name', 'web', '--expires-in', '876000h', '--json');
        await new Promise((r) => setTimeout(r, 1100));
        const b = await cli('bundle', 'create', '--from', m, '--out', join(dir.path, 'b.tar'), '--namespace', 'shop', '--name', 'web', '--expires-in', '876000h');
        assert.equal(a.code, 0, a.stderr);
        assert.equal(b.code, 0, b.stderr);
        assert.deepEqual(readFileSync(join(dir.path, 'a.tar')), readFileSync(join(dir.path, 'b.tar')));
        const index = (JSON.parse(a.stdout) as { index: { createdAt: string; sequence: number; expiresAt: string } }).index;
        assert.equal(index.createdAt, '2026-01-01T00:00:00Z');
        assert.equal(index.sequence, Number(EPOCH));
        assert.match(a.stderr, /note: sequence 1767225600 is the pinned creation time/);
      });

      it('--created-at wins over SOURCE_DATE_EPOCH; --sequence silences the note', async () => {
        process.env.SOURCE_DATE_EPOCH = EPOCH;
        const r = await create('--created-at', '2026-03-01T00:00:00Z', '--expires-in', '876000h', '--sequence', '9', '--json');
        assert.equal(r.code, 0, r.stderr);
        assert.equal((JSON.parse(r.stdout) as { index: { createdAt: string } }).index.createdAt, '2026-03-01T00:00:00Z');
        assert.doesNotMatch(r.stderr, /note:/);
      });

      it('an old commit never yields a bundle born expired: EXPIRED, and nothing is written', async () => {
        process.env.SOURCE_DATE_EPOCH = '1000000000'; // 2001
        const r = await create();
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^error EXPIRED: the bundle would be born expired/);
        assert.throws(() => readFileSync(join(dir.path, 'a.bundle.tar')));
      });

      it('refuses a SOURCE_DATE_EPOCH that is not integer seconds (USAGE)', async () => {
        process.env.SOURCE_DATE_EPOCH = '2026-01-01';
        const r = await create();
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^error USAGE: SOURCE_DATE_EPOCH/);
      });
    });
  });
});
