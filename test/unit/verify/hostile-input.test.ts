import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { INDEX_PATH, tarChunks } from '../../../src/bundle/index.js';
import { IN_TOTO_PAYLOAD_TYPE, MAX_ENVELOPE_BYTES, pae, serializeEnvelope, signBundleDigest, STATEMENT_TYPE, BUNDLE_PREDICATE_TYPE } from '../../../src/signing/index.js';
import { sampleBundle, tempDir, testSigner } from '../../helpers/bundle-fixtures.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/**
 * Stated bounds on resident-set growth while refusing a shape (the old code used 1.5 GB for the
 * envelope shapes and ran out of heap on the index shapes): 64 MiB for a 4 MiB envelope; 96 MiB for
 * a bundle with a 16 MiB index.json, whose reader legitimately holds the index bytes plus a 16 MiB
 * read ring hashed on a worker thread (measured 48–54 MiB on a loaded 2-core machine).
 */
const MAX_GROWTH_ENVELOPE = 64 * MiB;
const MAX_GROWTH_INDEX = 96 * MiB;
/** Generous, so a loaded 2-core machine never flakes; the old code took minutes or crashed. */
const MAX_MS = 30_000;

const CHILD = new URL('./hostile-input-child.ts', import.meta.url).pathname;

/** `[v,v,v,...]` of about `bytes` bytes. */
const hugeArray = (element: string, bytes: number) => `[${Array(Math.floor(bytes / (element.length + 1))).fill(element).join(',')}]`;
const deepArray = (bytes: number) => '['.repeat(bytes / 2) + ']'.repeat(bytes / 2);

/** A statement whose predicate targets are a huge array of wrong values, ≈ the envelope cap once base64'd. */
function hostileStatement(kind: 'array' | 'deep'): Buffer {
  const budget = Math.floor(((MAX_ENVELOPE_BYTES - 4096) * 3) / 4) - 1000;
  const base = sampleBundle();
  const statement = (targets: string) =>
    `{"_type":"${STATEMENT_TYPE}","subject":[{"name":"a","digest":{"sha256":"${base.digest}"}}],"predicateType":"${BUNDLE_PREDICATE_TYPE}","predicate":{"formatVersion":"1.0","targets":${targets}}}`;
  return Buffer.from(statement(kind === 'array' ? hugeArray('0', budget) : deepArray(budget)));
}

async function envelopeOf(payload: Buffer, signed: boolean): Promise<string> {
  const sig = signed ? await testSigner('test-ed25519').sign(pae(IN_TOTO_PAYLOAD_TYPE, payload)) : randomBytes(64);
  const keyid = signed ? testSigner('test-ed25519').keyId : randomBytes(32).toString('hex');
  return serializeEnvelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid, sig: sig.toString('base64') }] });
}

/** A bundle whose only entry is a hostile index.json, and an envelope that really signs that bundle. */
async function bundleWithIndex(index: string): Promise<{ bundle: Buffer; envelope: string }> {
  const bundle = Buffer.concat([...tarChunks([{ path: INDEX_PATH, data: Buffer.from(index) }])]);
  const digest = (await import('node:crypto')).createHash('sha256').update(bundle).digest('hex');
  const env = await signBundleDigest('hostile.bundle.tar', digest, sampleBundle().index, [testSigner('test-ed25519')]);
  return { bundle, envelope: serializeEnvelope(env) };
}

const INDEX_16MIB = 16 * MiB;

describe('hostile input: verify and inspect stay within a memory bound (fresh process, measured RSS)', function () {
  this.timeout(600_000);
  let dir: { path: string; cleanup: () => void };
  before(() => (dir = tempDir()));
  after(() => dir.cleanup());

  const shapes: { name: string; op: 'verify' | 'inspect'; want: string; bound?: number; make: () => Promise<{ bundle: Buffer; envelope?: string }> }[] = [
    { name: '4 MiB envelope, statement with a huge array of wrong values, no valid signature', op: 'verify', want: 'UNKNOWN_KEY', make: async () => ({ bundle: sampleBundle().bytes, envelope: await envelopeOf(hostileStatement('array'), false) }) },
    { name: 'the same statement signed by a trusted key', op: 'verify', want: 'TOO_LARGE', make: async () => ({ bundle: sampleBundle().bytes, envelope: await envelopeOf(hostileStatement('array'), true) }) },
    { name: 'a signed statement nested 1.5 million levels deep', op: 'verify', want: 'MALFORMED', make: async () => ({ bundle: sampleBundle().bytes, envelope: await envelopeOf(hostileStatement('deep'), true) }) },
    {
      name: '4 MiB envelope whose signatures are a huge array of empty objects',
      op: 'verify',
      want: 'TOO_LARGE',
      make: async () => ({ bundle: sampleBundle().bytes, envelope: `{"payloadType":"${IN_TOTO_PAYLOAD_TYPE}","payload":"","signatures":${hugeArray('{}', MAX_ENVELOPE_BYTES - 200)}}` }),
    },
    { name: '16 MiB index.json: files is a huge array of numbers (signed bundle)', op: 'verify', want: 'TOO_LARGE', bound: MAX_GROWTH_INDEX, make: () => bundleWithIndex(`{"formatVersion":"1.0","files":${hugeArray('0', INDEX_16MIB)}}`) },
    { name: '16 MiB index.json: files is a huge array of numbers (inspect)', op: 'inspect', want: 'TOO_LARGE', bound: MAX_GROWTH_INDEX, make: () => bundleWithIndex(`{"formatVersion":"1.0","files":${hugeArray('0', INDEX_16MIB)}}`) },
    { name: '16 MiB index.json: a huge array of empty objects (inspect)', op: 'inspect', want: 'TOO_LARGE', bound: MAX_GROWTH_INDEX, make: () => bundleWithIndex(`{"formatVersion":"1.0","files":${hugeArray('{}', INDEX_16MIB)}}`) },
    { name: '16 MiB index.json nested 8 million levels deep (inspect)', op: 'inspect', want: 'MALFORMED', bound: MAX_GROWTH_INDEX, make: () => bundleWithIndex(`{"formatVersion":"1.0","x":${deepArray(INDEX_16MIB)}}`) },
    {
      name: 'index.json with 100,000 wrong file entries, within the value budget (inspect)',
      op: 'inspect',
      want: 'MALFORMED',
      make: () => bundleWithIndex(`{"formatVersion":"1.0","targets":${hugeArray('7', 3000)},"files":${hugeArray('{"path":1,"size":"x"}', 100_000 * 22)}}`),
    },
  ];

  for (const [i, shape] of shapes.entries()) {
    const bound = shape.bound ?? MAX_GROWTH_ENVELOPE;
    it(`${shape.name}: ${shape.want}, growth < ${bound / MiB} MiB`, async () => {
      const { bundle, envelope } = await shape.make();
      const bundlePath = join(dir.path, `${i}.bundle.tar`);
      writeFileSync(bundlePath, bundle);
      const args = ['--expose-gc', '--import', 'tsx', CHILD, shape.op, bundlePath];
      if (envelope !== undefined) {
        assert.ok(Buffer.byteLength(envelope) <= MAX_ENVELOPE_BYTES, 'the envelope is within the size cap, so parsing is what is tested');
        writeFileSync(`${bundlePath}.sig.json`, envelope);
        args.push(`${bundlePath}.sig.json`);
      }
      const { stdout } = await run(process.execPath, args, { maxBuffer: 16 * MiB });
      const r = JSON.parse(stdout.trim().split('\n').pop()!) as { code: string; message: string; messageLength: number; ms: number; growth: number };
      console.log(`      ${r.code} in ${r.ms.toFixed(0)} ms, RSS growth ${(r.growth / MiB).toFixed(1)} MiB, message ${r.messageLength} chars`);
      assert.equal(r.code, shape.want, r.message);
      assert.ok(r.growth < bound, `RSS grew ${(r.growth / MiB).toFixed(1)} MiB`);
      assert.ok(r.ms < MAX_MS, `took ${r.ms} ms`);
      assert.ok(r.messageLength < 1000, 'the message does not grow with the input');
    });
  }
});
