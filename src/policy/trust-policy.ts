import { dirname, isAbsolute, resolve } from 'node:path';
import { parseStrictYaml } from '../strict-yaml.js';
import { z } from 'zod';
import { formatZodIssues } from '../bundle/index-file.js';
import { readBoundedFileSync, MAX_KEY_FILE_BYTES, MAX_POLICY_FILE_BYTES } from '../bounded-file.js';
import { RelayError } from '../errors.js';
import { certificatePublicKey } from '../signing/x509.js';
import { algorithmOf, keyIdentity, loadPublicKey } from '../signing/keys.js';
import type { VerificationKey } from '../signing/envelope.js';
import { scopeRulesSchema, type ScopeRules } from './scope-rules.js';

export const POLICY_API_VERSION = 'rollout-relay.io/v1';
export const POLICY_KIND = 'TrustPolicy';
export const DEFAULT_MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

/** One trusted key after loading: its public key, id and the clusters it may sign for. */
export interface PolicyKey extends VerificationKey {
  /** Source clusters this key may sign bundles from; undefined = any. */
  sources?: string[];
  /** Target clusters this key may sign bundles for; undefined = any. */
  targets?: string[];
  /** A revoked key never counts; a bundle signed only by it is refused (UNKNOWN_KEY). */
  revoked: boolean;
  /** Where the key came from (file path, "inline", or certificate subject). */
  origin: string;
  /** The key's own scope: narrows the policy-wide one (omitted fields add no restriction). */
  scope?: ScopeRules;
}

/** A loaded, validated trust policy (design §3). */
export interface TrustPolicy {
  threshold: number;
  maxBundleBytes: number;
  keys: PolicyKey[];
  /** What a signed bundle may change; undefined = the default (its application's namespace only). */
  scope?: ScopeRules;
  /** 'off' only for `bundle verify --key` (no policy file, no scope); everything else enforces. Default: enforce. */
  scopeCheck?: 'enforce' | 'off';
}

const cluster = z.string().min(1).max(253);
const keySchema = z
  .strictObject({
    name: z.string().min(1).max(253),
    publicKey: z.string().min(1).optional(),
    certificate: z.string().min(1).optional(),
    issuer: z.string().min(1).optional(),
    keyId: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256 key id').optional(),
    sources: z.array(cluster).min(1).optional(),
    targets: z.array(cluster).min(1).optional(),
    revoked: z.boolean().default(false),
    scope: scopeRulesSchema.optional(),
  })
  .refine((k) => (k.publicKey === undefined) !== (k.certificate === undefined), { message: 'give exactly one of publicKey or certificate' })
  .refine((k) => k.issuer === undefined || k.certificate !== undefined, { message: 'issuer is only meaningful with certificate' });

export const trustPolicySchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal(POLICY_KIND),
  threshold: z.number().int().min(1).default(1),
  maxBundleBytes: z.number().int().min(1024).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_BUNDLE_BYTES),
  keys: z.array(keySchema).min(1),
  scope: scopeRulesSchema.optional(),
});

export interface PolicyLoadOptions {
  /** Directory that relative key paths are resolved against. Default: the policy file's directory. */
  baseDir?: string;
  /** Time for certificate validity checks. Default: now. */
  now?: Date;
}

function pemOrPath(value: string, baseDir: string, what: string): { pem: string; origin: string } {
  if (value.includes('-----BEGIN ')) return { pem: value, origin: 'inline' };
  const path = isAbsolute(value) ? value : resolve(baseDir, value);
  return { pem: readBoundedFileSync(path, { field: what, what: 'key', maxBytes: MAX_KEY_FILE_BYTES, code: 'POLICY_INVALID' }).toString('utf8'), origin: path };
}

/** Parses policy YAML text; key paths are relative to `baseDir`. Throws POLICY_INVALID or KEY_INVALID. */
export function parseTrustPolicy(text: string, options: PolicyLoadOptions & { where?: string } = {}): TrustPolicy {
  const where = options.where ?? 'trust policy';
  const raw = parseStrictYaml(text, 'POLICY_INVALID', where);
  const parsed = trustPolicySchema.safeParse(raw);
  if (!parsed.success) throw new RelayError('POLICY_INVALID', `${where}: ${formatZodIssues(parsed.error)}`);
  const baseDir = options.baseDir ?? process.cwd();
  const names = new Set<string>();
  const ids = new Map<string, string>();
  const keys = parsed.data.keys.map((k): PolicyKey => {
    if (names.has(k.name)) throw new RelayError('POLICY_INVALID', `${where}: key name ${k.name} appears twice`);
    names.add(k.name);
    const label = `${where}: key ${k.name}`;
    let publicKey;
    let origin;
    if (k.certificate !== undefined) {
      const cert = pemOrPath(k.certificate, baseDir, label);
      const issuer = k.issuer === undefined ? undefined : pemOrPath(k.issuer, baseDir, `${label} issuer`).pem;
      const r = certificatePublicKey(cert.pem, label, { issuer, now: options.now });
      publicKey = r.publicKey;
      origin = `certificate ${r.certificate.subject.replace(/\n/g, ', ')} (${cert.origin})`;
    } else {
      const pub = pemOrPath(k.publicKey!, baseDir, label);
      publicKey = loadPublicKey(pub.pem, label);
      origin = pub.origin;
    }
    const algorithm = algorithmOf(publicKey);
    // Canonical identity: the same key in another encoding is caught as a duplicate below.
    const identity = keyIdentity(publicKey);
    const keyId = identity.keyId;
    if (k.keyId !== undefined && k.keyId !== keyId && !identity.aliasKeyIds.includes(k.keyId)) {
      throw new RelayError('KEY_INVALID', `${label}: key id is ${keyId} but the policy pins ${k.keyId}; the key file was replaced`);
    }
    const other = ids.get(keyId);
    if (other !== undefined) throw new RelayError('POLICY_INVALID', `${where}: keys ${other} and ${k.name} are the same key (${keyId}), in the same or another encoding; list each key once`);
    ids.set(keyId, k.name);
    return {
      name: k.name,
      keyId,
      ...(identity.aliasKeyIds.length ? { aliasKeyIds: identity.aliasKeyIds } : {}),
      algorithm,
      publicKey: identity.publicKey,
      ...(k.sources ? { sources: k.sources } : {}),
      ...(k.targets ? { targets: k.targets } : {}),
      revoked: k.revoked,
      origin,
      ...(k.scope ? { scope: k.scope } : {}),
    };
  });
  const usable = keys.filter((k) => !k.revoked).length;
  if (parsed.data.threshold > usable) {
    throw new RelayError('POLICY_INVALID', `${where}: threshold ${parsed.data.threshold} can never be met with ${usable} non-revoked key(s)`);
  }
  return { threshold: parsed.data.threshold, maxBundleBytes: parsed.data.maxBundleBytes, keys, ...(parsed.data.scope ? { scope: parsed.data.scope } : {}) };
}

/** Reads and validates a policy file; relative key paths resolve against the file's directory. */
export function loadTrustPolicy(path: string, options: PolicyLoadOptions = {}): TrustPolicy {
  const text = readBoundedFileSync(path, { what: 'trust policy', maxBytes: MAX_POLICY_FILE_BYTES, code: 'POLICY_INVALID' }).toString('utf8');
  return parseTrustPolicy(text, { ...options, baseDir: options.baseDir ?? dirname(resolve(path)), where: path });
}

/** The policy `bundle verify --key PUB ...` stands for: these keys, any cluster, `threshold` of them, no scope check. */
export function policyFromPublicKeys(keys: { pem: string | Buffer; origin: string }[], threshold = 1, maxBundleBytes = DEFAULT_MAX_BUNDLE_BYTES): TrustPolicy {
  const seen = new Set<string>();
  const loaded = keys.map((k): PolicyKey => {
    const given = loadPublicKey(k.pem, k.origin);
    const { keyId, aliasKeyIds, publicKey } = keyIdentity(given);
    return { name: k.origin, keyId, ...(aliasKeyIds.length ? { aliasKeyIds } : {}), algorithm: algorithmOf(given), publicKey, revoked: false, origin: k.origin };
  }).filter((k) => (seen.has(k.keyId) ? false : (seen.add(k.keyId), true)));
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > loaded.length) {
    throw new RelayError('USAGE', `threshold ${threshold} needs between 1 and ${loaded.length} distinct keys`);
  }
  return { threshold, maxBundleBytes, keys: loaded, scopeCheck: 'off' };
}
