import type { BundleMetadata } from '../bundle/types.js';
import { RelayError } from '../errors.js';
import type { SignatureCheck } from '../signing/envelope.js';
import type { SequenceStateStore } from './state-store.js';
import type { PolicyKey, TrustPolicy } from './trust-policy.js';

export interface SignatureDecision {
  /** Distinct trusted keys whose signatures verified and count for this source and target. */
  keyIds: string[];
  keyNames: string[];
  threshold: number;
  /** Signatures that did not count and why (extra ones beyond the threshold are tolerated). */
  ignored: { keyid: string; reason: string }[];
}

const short = (id: string) => (id ? id.slice(0, 16) : '(no keyid)');

/**
 * Counts verified signatures against the policy: distinct, non-revoked keys allowed for the bundle's
 * source cluster and the target (each skipped when not given). Throws the most specific code when fewer than `threshold` count:
 * BAD_SIGNATURE > UNKNOWN_KEY (revoked) > TARGET_NOT_ALLOWED > SOURCE_NOT_ALLOWED > UNKNOWN_KEY > THRESHOLD_NOT_MET.
 */
export function decideSignatures(checks: readonly SignatureCheck[], policy: TrustPolicy, context: { source?: string; target?: string }): SignatureDecision {
  const counted = new Map<string, PolicyKey>();
  const ignored: SignatureDecision['ignored'] = [];
  const reasons = { bad: [] as string[], revoked: [] as string[], target: [] as string[], source: [] as string[], unknown: [] as string[] };
  for (const c of checks) {
    if (c.result === 'unknown-key') {
      reasons.unknown.push(short(c.keyid));
      ignored.push({ keyid: c.keyid, reason: 'not a key in the trust policy' });
      continue;
    }
    // Compare canonical ids only: one key in two encodings is one key.
    const key = c.key && policy.keys.find((k) => k.keyId === c.key!.keyId);
    if (!key) {
      reasons.unknown.push(short(c.keyid));
      ignored.push({ keyid: c.keyid, reason: 'not a key in the trust policy' });
    } else if (c.result === 'bad') {
      reasons.bad.push(`${key.name} (${short(key.keyId)})`);
      ignored.push({ keyid: c.keyid, reason: 'signature does not verify' });
    } else if (key.revoked) {
      reasons.revoked.push(`${key.name} (${short(key.keyId)})`);
      ignored.push({ keyid: c.keyid, reason: 'key is revoked' });
    } else if (context.target !== undefined && key.targets && !key.targets.includes(context.target)) {
      reasons.target.push(`${key.name} may sign for ${key.targets.join(', ')}`);
      ignored.push({ keyid: c.keyid, reason: `key not allowed for target ${context.target}` });
    } else if (context.source !== undefined && key.sources && !key.sources.includes(context.source)) {
      reasons.source.push(`${key.name} may sign from ${key.sources.join(', ')}`);
      ignored.push({ keyid: c.keyid, reason: `key not allowed for source ${context.source}` });
    } else {
      counted.set(key.keyId, key);
    }
  }
  const tally = `valid signatures from ${counted.size} of ${policy.threshold} required distinct trusted keys`;
  if (counted.size < policy.threshold) {
    if (reasons.bad.length) {
      throw new RelayError('BAD_SIGNATURE', `signature by ${reasons.bad.join(', ')} does not verify (${tally}); the bundle metadata or signature was altered, re-sign it`);
    }
    if (reasons.revoked.length) {
      throw new RelayError('UNKNOWN_KEY', `signed by revoked key ${reasons.revoked.join(', ')} (${tally}); re-sign with a current key`);
    }
    if (reasons.target.length) {
      throw new RelayError('TARGET_NOT_ALLOWED', `no key may sign for target ${context.target}: ${reasons.target.join('; ')} (${tally})`);
    }
    if (reasons.source.length) {
      throw new RelayError('SOURCE_NOT_ALLOWED', `no key may sign bundles from source cluster ${context.source}: ${reasons.source.join('; ')} (${tally})`);
    }
    if (reasons.unknown.length && counted.size === 0) {
      throw new RelayError('UNKNOWN_KEY', `signed only by key(s) not in the trust policy: ${reasons.unknown.join(', ')}; add the public key to the policy or sign with a trusted key`);
    }
    throw new RelayError('THRESHOLD_NOT_MET', `${tally}; collect more signatures (bundle sign --key ... for each signer)`);
  }
  const keys = [...counted.values()];
  return { keyIds: keys.map((k) => k.keyId), keyNames: keys.map((k) => k.name), threshold: policy.threshold, ignored };
}

/** Expiry and bundle-level target checks on the signed metadata. */
export function checkBundleMetadata(meta: BundleMetadata, context: { target?: string; now?: Date }): void {
  const now = context.now ?? new Date();
  if (Date.parse(meta.expiresAt) <= now.getTime()) {
    throw new RelayError('EXPIRED', `bundle expired at ${meta.expiresAt} (now ${now.toISOString()}); create and sign a new bundle`);
  }
  if (context.target !== undefined && meta.targets.length > 0 && !meta.targets.includes(context.target)) {
    throw new RelayError('TARGET_NOT_ALLOWED', `bundle is for ${meta.targets.join(', ')}, not ${context.target}; create a bundle with --target ${context.target}`);
  }
}

/** Refuses a sequence that is not newer than the last one accepted for this application and target. */
export async function checkSequence(store: SequenceStateStore, meta: BundleMetadata, target: string): Promise<number | undefined> {
  const last = await store.get(meta.application, target);
  if (last !== undefined && meta.sequence <= last) {
    throw new RelayError(
      'ROLLBACK',
      `bundle sequence ${meta.sequence} for ${meta.application} is not newer than ${last}, the last accepted on ${target}; this is a replay or rollback, promote a newer bundle`,
    );
  }
  return last;
}
