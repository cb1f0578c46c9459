import assert from 'node:assert/strict';
import { buildIndex, checkJsonBounds, createBundle, parseIndex, parseManifestText, parseUtcTimestamp, serializeIndex, toCanonicalJson } from '../../../src/bundle/index.js';
import { boundedArray, formatZodIssues } from '../../../src/bundle/bounded-json.js';
import { parseRfc3339 } from '../../../src/bundle/timestamp.js';
import { z } from 'zod';
import { expectCode, sampleBundle, sampleMeta, sampleObjects } from '../../helpers/bundle-fixtures.js';

const validIndex = () => JSON.parse(serializeIndex(sampleBundle().index).toString()) as Record<string, unknown>;
const indexBytes = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

describe('bounded parsing of untrusted JSON', () => {
  it('checkJsonBounds counts nesting and values outside strings only', async () => {
    checkJsonBounds(indexBytes('{"a":"[[[[,,,,\\"[[[,"}'), 'x', { maxDepth: 1, maxValues: 1 });
    await expectCode(() => checkJsonBounds(indexBytes('[[[1]]]'), 'x', { maxDepth: 2, maxValues: 10 }), 'MALFORMED');
    await expectCode(() => checkJsonBounds(indexBytes('[1,2,3,4]'), 'x', { maxDepth: 2, maxValues: 3 }), 'TOO_LARGE');
    checkJsonBounds(indexBytes('[1,2,3]'), 'x', { maxDepth: 1, maxValues: 3 });
  });

  it('a huge array of wrong values is one issue, not one per element', () => {
    const r = boundedArray(z.string(), 10).safeParse(Array(100_000).fill(0));
    assert.equal(r.success, false);
    assert.equal(r.error!.issues.length, 1);
  });

  it('formatZodIssues shows at most three issues, escaped, and caps the text', () => {
    const r = z.array(z.string()).safeParse(Array(50).fill(0));
    const text = formatZodIssues(r.error!);
    assert.match(text, /\(and 47 more\)$/);
    const long = z.object({ ['\u001b[2K' + 'k'.repeat(5000)]: z.string() }).safeParse({});
    const t2 = formatZodIssues(long.error!);
    assert.ok(t2.length < 600, `${t2.length} chars`);
    assert.ok(!t2.includes('\u001b'));
  });

  describe('index.json', () => {
    it('refuses a file list longer than maxFiles before looking at its elements (TOO_LARGE)', async () => {
      await expectCode(() => parseIndex(indexBytes({ ...validIndex(), files: Array(1001).fill(0) }), { maxFiles: 1000 }), 'TOO_LARGE');
    });
    it('stops at the first bad file entry (MALFORMED naming it), with a short message', async () => {
      const err = await expectCode(() => parseIndex(indexBytes({ ...validIndex(), files: Array(50_000).fill({ path: 1 }) })), 'MALFORMED');
      assert.match(err.message, /files\.0/);
      assert.ok(err.message.length < 1000);
    });
    it('refuses more than 256 targets and control characters in names (MALFORMED)', async () => {
      await expectCode(() => parseIndex(indexBytes({ ...validIndex(), targets: Array(257).fill('dr') })), 'MALFORMED');
      const bad = validIndex();
      (bad.source as Record<string, string>).cluster = 'shang\u001b[2Khai';
      await expectCode(() => parseIndex(indexBytes(bad)), 'MALFORMED');
    });
    it('refuses an application that is not <namespace>/<name> (MALFORMED)', async () => {
      for (const application of ['__proto__', 'shop/__proto__', 'Shop/web', 'shop/we b', 'shop', 'shop/web/x', 'shop/web\u001b']) {
        await expectCode(() => parseIndex(indexBytes({ ...validIndex(), application })), 'MALFORMED');
      }
      assert.equal(parseIndex(indexBytes({ ...validIndex(), application: 'shop/web.v2' })).application, 'shop/web.v2');
    });
    it('refuses dates that do not exist instead of rolling them over (MALFORMED)', async () => {
      for (const createdAt of ['2026-02-31T00:00:00Z', '2026-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-04-31T00:00:00Z']) {
        await expectCode(() => parseIndex(indexBytes({ ...validIndex(), createdAt })), 'MALFORMED');
      }
      assert.equal(parseIndex(indexBytes({ ...validIndex(), createdAt: '2024-02-29T23:59:59Z' })).createdAt, '2024-02-29T23:59:59Z');
    });
  });

  it('strict RFC 3339 parsing', () => {
    assert.equal(parseUtcTimestamp('2026-01-02T03:04:05Z'), Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.equal(parseUtcTimestamp('2026-01-02T03:04:05.250Z'), Date.UTC(2026, 0, 2, 3, 4, 5, 250));
    assert.equal(parseUtcTimestamp('2026-01-02T03:04:05+08:00'), undefined, 'index.json times are UTC');
    assert.equal(parseRfc3339('2026-01-02T11:04:05+08:00'), Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.equal(parseRfc3339('0099-03-01T00:00:00Z'), new Date('0099-03-01T00:00:00Z').getTime(), 'years below 100 are not 19xx');
    for (const bad of ['2026-02-30T00:00:00Z', '2026-1-2T03:04:05Z', '2026-01-02 03:04:05Z', '2026-01-02T03:04:05', '2026-01-02T03:04:05+24:00', '']) assert.equal(parseRfc3339(bad), undefined, bad);
  });

  describe('deeply nested manifests given to bundle create', () => {
    it('JSON and YAML nested beyond 512 levels are MALFORMED, not a stack overflow', async () => {
      const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
      const json = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":${deep(100_000)}}`;
      await expectCode(() => parseManifestText(json, 'deep.json'), 'MALFORMED');
      const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: ${deep(3_000)}\n`;
      await expectCode(() => createBundle(parseManifestText(yaml, 'deep.yaml'), sampleMeta()), 'MALFORMED');
      let v: unknown = 1;
      for (let i = 0; i < 600; i++) v = [v];
      await expectCode(() => toCanonicalJson(v), 'MALFORMED');
      let ok: unknown = 1;
      for (let i = 0; i < 500; i++) ok = { a: ok };
      toCanonicalJson(ok);
    });
  });

  describe('application names are refused up front (INVALID_NAME)', () => {
    it('bundle creation refuses names that could never be applied', async () => {
      for (const name of ['__proto__', 'Web', 'we b', 'web\u001b[2K', '-web']) {
        await expectCode(() => buildIndex(sampleMeta({ source: { ...sampleMeta().source, name } }), []), 'INVALID_NAME');
      }
      await expectCode(() => buildIndex(sampleMeta({ application: 'constructor' }), []), 'INVALID_NAME');
      assert.equal(buildIndex(sampleMeta(), []).application, 'shop/web');
    });
    it('never writes a cluster name a reader would refuse (USAGE)', async () => {
      await expectCode(() => createBundle(sampleObjects(), sampleMeta({ targets: ['shen\u0007zhen'] })), 'USAGE');
    });
  });
});
