import { isRelayError } from '../../src/errors.js';
import { readBundleBytes } from '../../src/bundle/index.js';
import { verifyBundleBytes } from '../../src/verify/index.js';
import { signedSample, testPolicy } from '../helpers/bundle-fixtures.js';

/** mulberry32: a small seeded PRNG so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzResult {
  seed: number;
  mutations: number;
  bundleMutations: number;
  envelopeMutations: number;
  /** Mutated inputs that verified: must be 0. */
  accepted: { target: 'bundle' | 'envelope'; offset: number; from: number; to: number }[];
  /** Anything thrown that is not a RelayError (by verify, or by the unsigned reader): must be 0. */
  crashes: { target: 'bundle' | 'envelope'; offset: number; from: number; to: number; error: string }[];
  codes: Record<string, number>;
}

/**
 * Every iteration changes one byte of the signed bundle or of its DSSE envelope (2 signatures,
 * threshold 2) and verifies. Bundle mutations also go through the unsigned reader, which may accept
 * (nothing vouches for the bytes there) but must never throw anything but a RelayError.
 */
export async function fuzzSingleByte(seed: number, count: number): Promise<FuzzResult> {
  const rand = prng(seed);
  // With a signed overrides file for the target, so mutations also reach the overrides reader and patcher.
  const { bundle, envelope } = await signedSample(['test-ecdsa', 'test-ed25519'], {
    differences: [{
      target: 'shenzhen',
      overrides: [{ name: 'db', select: { kind: 'ConfigMap' }, mergePatch: { data: { db: 'dr' } } }, { select: { kind: 'Deployment' }, jsonPatch: [{ op: 'replace', path: '/spec/replicas', value: 1 }] }],
      ignoreFields: [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/replicas'] }],
    }],
  });
  const policy = testPolicy(['test-ecdsa', 'test-ed25519'], 2);
  const env = Buffer.from(envelope, 'utf8');
  // The unmutated pair must verify, or the run proves nothing.
  await verifyBundleBytes(bundle.bytes, env, { policy, target: 'shenzhen' });
  const result: FuzzResult = { seed, mutations: 0, bundleMutations: 0, envelopeMutations: 0, accepted: [], crashes: [], codes: {} };
  for (let i = 0; i < count; i++) {
    const target = rand() < 0.5 ? 'bundle' : 'envelope';
    const original = target === 'bundle' ? bundle.bytes : env;
    const offset = Math.floor(rand() * original.length);
    const from = original[offset]!;
    const to = (from + 1 + Math.floor(rand() * 255)) % 256;
    const mutated = Buffer.from(original);
    mutated[offset] = to;
    result.mutations++;
    if (target === 'bundle') result.bundleMutations++;
    else result.envelopeMutations++;
    const where = { target, offset, from, to } as const;
    try {
      await verifyBundleBytes(target === 'bundle' ? mutated : bundle.bytes, target === 'envelope' ? mutated : env, { policy, target: 'shenzhen' });
      result.accepted.push(where);
    } catch (err) {
      if (isRelayError(err)) result.codes[err.code] = (result.codes[err.code] ?? 0) + 1;
      else result.crashes.push({ ...where, error: String(err) });
    }
    if (target === 'bundle') {
      try {
        await readBundleBytes(mutated);
      } catch (err) {
        if (!isRelayError(err)) result.crashes.push({ ...where, error: `unsigned reader: ${String(err)}` });
      }
    }
  }
  return result;
}
