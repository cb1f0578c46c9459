/**
 * Structure-aware fuzzing: instead of flipping bytes, each iteration changes the *meaning* of a
 * signed bundle the way an attacker would: a field of index.json or of the signed statement
 * replaced by a hostile value (huge arrays, deep nesting, long or control-character strings, wrong
 * types, impossible dates, prototype keys), the envelope's structure changed (duplicated or extra
 * signatures, one key under two ids), the trust policy given keys in alternate encodings, or the
 * tar's entries duplicated, dropped or reordered.
 *
 * "accepted" counts only inputs no trusted key vouches for as they are (a mutated bundle or payload
 * under the original signatures, one signer counted twice): it must stay 0. Re-signed mutations may
 * legitimately verify (an unknown index field is allowed), so for them only crashes count. A crash
 * is anything thrown that is not a RelayError.
 */
import { createHash, createPublicKey, ECDH, type KeyObject } from 'node:crypto';
import { INDEX_PATH, readBundleBytes, serializeIndex, tarChunks, type TarFile } from '../../src/bundle/index.js';
import { isRelayError } from '../../src/errors.js';
import { parseTrustPolicy, policyFromPublicKeys, type TrustPolicy } from '../../src/policy/index.js';
import { canonicalPublicKey, IN_TOTO_PAYLOAD_TYPE, keyIdentity, pae, serializeEnvelope, signBundleDigest, type Envelope, type Signer } from '../../src/signing/index.js';
import { verifyBundleBytes } from '../../src/verify/index.js';
import { sampleBundle, testKeyPem, testSigner } from '../helpers/bundle-fixtures.js';
import { prng } from './mutate.js';

export const STRUCTURED_KINDS = ['index-field', 'index-field-resigned', 'statement-field', 'statement-field-resigned', 'envelope-structure', 'key-encoding', 'tar-structure'] as const;
type Kind = (typeof STRUCTURED_KINDS)[number];

export interface StructuredResult {
  seed: number;
  mutations: number;
  byKind: Record<string, number>;
  accepted: { kind: Kind; detail: string }[];
  crashes: { kind: Kind; detail: string; error: string }[];
  codes: Record<string, number>;
  /** Slowest single verification (ms): hostile shapes must stay cheap. */
  slowestMs: number;
}

type Rand = () => number;
const pickOne = <T>(rand: Rand, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const int = (rand: Rand, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** A hostile JSON value, with a short description for replaying. */
function hostileValue(rand: Rand): { value: unknown; what: string } {
  switch (int(rand, 0, 11)) {
    case 0: {
      const n = int(rand, 1000, 300_000);
      return { value: Array(n).fill(int(rand, 0, 1) ? 0 : 'x'), what: `array of ${n} scalars` };
    }
    case 1: {
      const n = int(rand, 1000, 100_000);
      return { value: Array.from({ length: n }, () => ({})), what: `array of ${n} objects` };
    }
    case 2: {
      const n = int(rand, 50, 50_000);
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = rand() < 0.5 ? [v] : { a: v };
      return { value: v, what: `nesting ${n} deep` };
    }
    case 3: {
      const n = int(rand, 1000, 1_000_000);
      return { value: 'a'.repeat(n), what: `string of ${n}` };
    }
    case 4:
      return { value: pickOne(rand, ['\u001b[2K\rverified', 'a\u0000b', '\u202eevil', 'x\ny', '']), what: 'control characters' };
    case 5:
      return { value: pickOne(rand, [null, true, 0, -1, 1.5, 2 ** 53, {}, []]), what: 'wrong type' };
    case 6:
      return { value: pickOne(rand, ['2026-02-31T00:00:00Z', '2026-01-01T24:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T00:00:00+00:00', '1e9']), what: 'impossible date' };
    case 7:
      return { value: JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}') as unknown, what: 'prototype keys' };
    case 8:
      return { value: pickOne(rand, ['__proto__', 'shop/__proto__', 'Shop/Web', 'shop/we b', '../..']), what: 'bad name' };
    case 9:
      return { value: pickOne(rand, ['0.1', '2.0', '1', 'v1', '1.0.0']), what: 'format version' };
    case 10: {
      const n = int(rand, 300, 5000);
      return { value: Array(n).fill('shenzhen'), what: `${n} targets` };
    }
    default:
      return { value: Number.MAX_SAFE_INTEGER, what: 'max number' };
  }
}

/** Sets (or adds) one field of a JSON object tree at a random known path. */
function mutateField(doc: Record<string, unknown>, rand: Rand, paths: readonly string[][]): string {
  const path = pickOne(rand, [...paths, ['x-extra']]);
  const { value, what } = hostileValue(rand);
  let node: Record<string, unknown> = doc;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) return 'skipped';
    node = next as Record<string, unknown>;
  }
  Object.defineProperty(node, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return `${path.join('.')} := ${what}`;
}

const INDEX_PATHS = [['formatVersion'], ['producer', 'name'], ['application'], ['source', 'cluster'], ['source', 'name'], ['sequence'], ['createdAt'], ['expiresAt'], ['targets'], ['files'], ['files', '0', 'path'], ['files', '0', 'size'], ['files', '0', 'sha256'], ['files', '1']];
const STATEMENT_PATHS = [['_type'], ['subject'], ['subject', '0', 'digest', 'sha256'], ['predicateType'], ['predicate'], ...INDEX_PATHS.filter((p) => p[0] !== 'files').map((p) => ['predicate', ...p])];

/** A P-256 public key in another valid SPKI encoding (compressed or hybrid point). */
function ecVariant(key: KeyObject, form: 'compressed' | 'hybrid'): KeyObject {
  const der = key.export({ type: 'spki', format: 'der' });
  const point = ECDH.convertKey(der.subarray(der.length - 65), 'prime256v1', undefined, undefined, form) as Buffer;
  const prefix = form === 'compressed' ? '3039301306072a8648ce3d020106082a8648ce3d030107032200' : '3059301306072a8648ce3d020106082a8648ce3d030107034200';
  return createPublicKey({ key: Buffer.concat([Buffer.from(prefix, 'hex'), point]), format: 'der', type: 'spki' });
}

/** The RSA test key under id-RSASSA-PSS without parameters (what `openssl genpkey -algorithm RSA-PSS` writes). */
function rsaPssNoParams(key: KeyObject): KeyObject {
  // rsaEncryption SPKI of a 3072-bit key: 4-byte SEQUENCE header, 15-byte algorithm, 4-byte BIT STRING header, 0 unused bits.
  const pkcs1 = canonicalPublicKey(key).export({ type: 'spki', format: 'der' }).subarray(24);
  const tlv = (tag: number, c: Buffer) => Buffer.concat([Buffer.from([tag]), c.length < 128 ? Buffer.from([c.length]) : c.length < 256 ? Buffer.from([0x81, c.length]) : Buffer.from([0x82, c.length >> 8, c.length & 0xff]), c]);
  const spki = tlv(0x30, Buffer.concat([tlv(0x30, Buffer.from('06092a864886f70d01010a', 'hex')), tlv(0x03, Buffer.concat([Buffer.from([0]), pkcs1]))]));
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

const pemOf = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();

function tarOf(files: TarFile[]): Buffer {
  return Buffer.concat([...tarChunks(files)]);
}

async function envelopeWith(payload: Buffer, signers: { signer: Signer; keyid: string }[]): Promise<string> {
  const bytes = pae(IN_TOTO_PAYLOAD_TYPE, payload);
  const signatures = [];
  for (const s of signers) signatures.push({ keyid: s.keyid, sig: (await s.signer.sign(bytes)).toString('base64') });
  return serializeEnvelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, payload: payload.toString('base64'), signatures });
}

export async function fuzzStructured(seed: number, count: number): Promise<StructuredResult> {
  const rand = prng(seed);
  const ec = testSigner('test-ecdsa');
  const ed = testSigner('test-ed25519');
  const rsa = testSigner('test-rsa-pss');
  const base = sampleBundle();
  const manifests: TarFile[] = (await readBundleBytes(base.bytes)).manifests.map((m) => ({ path: m.path, data: m.bytes }));
  const indexJson = JSON.parse(serializeIndex(base.index).toString()) as Record<string, unknown>;
  const policy = policyFromPublicKeys(['test-ecdsa', 'test-ed25519'].map((n) => ({ pem: testKeyPem(n, 'pub'), origin: n })), 2);
  const envelope = serializeEnvelope(await signBundleDigest('app.bundle.tar', base.digest, base.index, [ec, ed]));
  const payload = Buffer.from((JSON.parse(envelope) as Envelope).payload, 'base64');
  await verifyBundleBytes(base.bytes, envelope, { policy, target: 'shenzhen' }); // the unmutated pair must verify

  const ecKey = createPublicKey(testKeyPem('test-ecdsa', 'pub'));
  const rsaKey = createPublicKey(testKeyPem('test-rsa-pss', 'pub'));
  const encodings: { name: string; key: KeyObject; signer: Signer }[] = [
    { name: 'ec-uncompressed', key: ecKey, signer: ec },
    { name: 'ec-compressed', key: ecVariant(ecKey, 'compressed'), signer: ec },
    { name: 'ec-hybrid', key: ecVariant(ecKey, 'hybrid'), signer: ec },
    { name: 'rsa-pss-params', key: rsaKey, signer: rsa },
    { name: 'rsa-pss-noparams', key: rsaPssNoParams(rsaKey), signer: rsa },
    { name: 'rsa-encryption', key: canonicalPublicKey(rsaKey), signer: rsa },
  ];

  const result: StructuredResult = { seed, mutations: 0, byKind: {}, accepted: [], crashes: [], codes: {}, slowestMs: 0 };
  const attempt = async (kind: Kind, detail: string, mustRefuse: boolean, fn: () => Promise<unknown> | unknown) => {
    const t0 = performance.now();
    try {
      await fn();
      if (mustRefuse) result.accepted.push({ kind, detail });
    } catch (err) {
      if (isRelayError(err)) result.codes[err.code] = (result.codes[err.code] ?? 0) + 1;
      else result.crashes.push({ kind, detail, error: String(err).slice(0, 300) });
    }
    result.slowestMs = Math.max(result.slowestMs, performance.now() - t0);
  };
  const verify = (bundle: Buffer, env: string | Buffer, p: TrustPolicy = policy) => verifyBundleBytes(bundle, env, { policy: p, target: 'shenzhen' });

  for (let i = 0; i < count; i++) {
    const kind = pickOne(rand, STRUCTURED_KINDS);
    result.mutations++;
    result.byKind[kind] = (result.byKind[kind] ?? 0) + 1;
    switch (kind) {
      case 'index-field':
      case 'index-field-resigned': {
        const doc = structuredClone(indexJson);
        const detail = mutateField(doc, rand, INDEX_PATHS);
        let text: string;
        try {
          text = JSON.stringify(doc);
        } catch {
          break; // too deep to serialise: not an input anyone can write
        }
        const bundle = tarOf([{ path: INDEX_PATH, data: Buffer.from(text) }, ...manifests]);
        if (kind === 'index-field') {
          await attempt(kind, detail, true, () => verify(bundle, envelope));
          await attempt(kind, `${detail} (unsigned reader)`, false, () => readBundleBytes(bundle));
        } else {
          const digest = createHash('sha256').update(bundle).digest('hex');
          const env = serializeEnvelope(await signBundleDigest('app.bundle.tar', digest, base.index, [ec, ed]));
          await attempt(kind, detail, false, () => verify(bundle, env));
        }
        break;
      }
      case 'statement-field':
      case 'statement-field-resigned': {
        const doc = JSON.parse(payload.toString()) as Record<string, unknown>;
        const detail = mutateField(doc, rand, STATEMENT_PATHS);
        let text: string;
        try {
          text = JSON.stringify(doc);
        } catch {
          break;
        }
        const mutated = Buffer.from(text);
        if (kind === 'statement-field') {
          // Original signatures over the mutated payload; keep the envelope within its size cap to reach parsing.
          const env = JSON.parse(envelope) as Envelope;
          env.payload = mutated.toString('base64');
          await attempt(kind, detail, true, () => verify(base.bytes, serializeEnvelope(env)));
        } else {
          const env = await envelopeWith(mutated, [{ signer: ec, keyid: ec.keyId }, { signer: ed, keyid: ed.keyId }]);
          await attempt(kind, detail, false, () => verify(base.bytes, env));
        }
        break;
      }
      case 'envelope-structure': {
        const env = JSON.parse(envelope) as { signatures: unknown[]; [k: string]: unknown };
        const sigs = env.signatures as { keyid?: string; sig: string }[];
        const variant = int(rand, 0, 6);
        let detail: string;
        if (variant === 0) {
          env.signatures = [sigs[0], sigs[0]];
          detail = 'one signature twice';
        } else if (variant === 1) {
          env.signatures = [sigs[0], { sig: sigs[0]!.sig }];
          detail = 'one signature with and without keyid';
        } else if (variant === 2) {
          env.signatures = [sigs[0], { keyid: sigs[1]!.keyid, sig: sigs[0]!.sig }];
          detail = "one key's signature under the other key's id";
        } else if (variant === 3) {
          env.signatures = Array(int(rand, 65, 5000)).fill(sigs[0]);
          detail = 'too many signatures';
        } else if (variant === 4) {
          const { value, what } = hostileValue(rand);
          env[pickOne(rand, ['payloadType', 'payload', 'signatures', 'extra'])] = value;
          detail = `field := ${what}`;
        } else if (variant === 5) {
          env.signatures = [sigs[0], { keyid: pickOne(rand, encodings.filter((e) => e.signer === ec)).key.export({ type: 'spki', format: 'der' }).toString('hex').slice(0, 64), sig: sigs[0]!.sig }];
          detail = 'second signature under a made-up id';
        } else {
          env.signatures = [sigs[0]];
          detail = 'only one of two signatures';
        }
        let text: string;
        try {
          text = JSON.stringify(env);
        } catch {
          break;
        }
        await attempt(kind, detail, true, () => verify(base.bytes, text));
        break;
      }
      case 'key-encoding': {
        // The policy names a key in an alternate encoding; one signer signs twice, once under the
        // canonical id and once under the id of that encoding: with threshold 2 this must not pass.
        const enc = pickOne(rand, encodings);
        const other = enc.signer === ed ? rsa : ed;
        const pems = [{ pem: pemOf(enc.key), origin: enc.name }, { pem: testKeyPem(other === rsa ? 'test-rsa-pss' : 'test-ed25519', 'pub'), origin: 'other' }];
        const p2 = policyFromPublicKeys(pems, 2);
        const asWritten = keyIdentity(enc.key).aliasKeyIds[0] ?? keyIdentity(enc.key).keyId;
        const env = await envelopeWith(payload, [{ signer: enc.signer, keyid: enc.signer.keyId }, { signer: enc.signer, keyid: asWritten }]);
        await attempt(kind, `${enc.name} counted twice`, true, () => verify(base.bytes, env, p2));
        // And the same key listed twice in two encodings never loads as a policy.
        const twin = pickOne(rand, encodings.filter((e) => e.signer === enc.signer && e !== enc));
        const inline = (k: KeyObject) => pemOf(k).trimEnd().replace(/^/gm, '      ');
        const yaml = `apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nthreshold: 1\nkeys:\n  - name: a\n    revoked: ${rand() < 0.5}\n    publicKey: |\n${inline(enc.key)}\n  - name: b\n    publicKey: |\n${inline(twin.key)}\n`;
        await attempt(kind, `${enc.name} + ${twin.name} in one policy`, true, () => parseTrustPolicy(yaml));
        break;
      }
      case 'tar-structure': {
        const files: TarFile[] = [{ path: INDEX_PATH, data: Buffer.from(JSON.stringify(indexJson, null, 2) + '\n') }, ...manifests];
        const variant = int(rand, 0, 4);
        const detail = ['duplicate a manifest', 'drop a manifest', 'swap two manifests', 'index.json last', 'junk entry'][variant]!;
        const k = int(rand, 1, files.length - 1);
        if (variant === 0) files.push(files[k]!);
        else if (variant === 1) files.splice(k, 1);
        else if (variant === 2) [files[1], files[k]] = [files[k]!, files[1]!];
        else if (variant === 3) files.push(files.shift()!);
        else files.push({ path: 'manifests/99999-junk.yaml', data: Buffer.from('apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n') });
        let bundle: Buffer;
        try {
          bundle = tarOf(files);
        } catch {
          break;
        }
        if (bundle.equals(base.bytes)) break; // a swap of an entry with itself
        await attempt(kind, detail, true, () => verify(bundle, envelope));
        await attempt(kind, `${detail} (unsigned reader)`, false, () => readBundleBytes(bundle));
        break;
      }
    }
  }
  return result;
}
