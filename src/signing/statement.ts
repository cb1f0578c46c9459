import { z } from 'zod';
import { parseJsonBounded } from '../bundle/bounded-json.js';
import { bundleIndexSchema, checkFormatVersion, formatZodIssues, indexMetadata } from '../bundle/index-file.js';
import type { BundleIndex, BundleMetadata } from '../bundle/types.js';
import { RelayError } from '../errors.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const BUNDLE_PREDICATE_TYPE = 'https://rollout-relay.io/bundle/v1';

/** in-toto Statement v1 whose subject is the bundle tar and whose predicate repeats its index metadata. */
export interface BundleStatement {
  _type: typeof STATEMENT_TYPE;
  subject: [{ name: string; digest: { sha256: string } }];
  predicateType: typeof BUNDLE_PREDICATE_TYPE;
  predicate: BundleMetadata;
}

export function buildStatement(bundleName: string, digestHex: string, index: BundleIndex): BundleStatement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: bundleName, digest: { sha256: digestHex } }],
    predicateType: BUNDLE_PREDICATE_TYPE,
    predicate: indexMetadata(index),
  };
}

/** Deterministic statement bytes (the DSSE payload). */
export function serializeStatement(s: BundleStatement): Buffer {
  return Buffer.from(JSON.stringify(s), 'utf8');
}

const predicateSchema = bundleIndexSchema.omit({ files: true });
const statementSchema = z.looseObject({
  _type: z.literal(STATEMENT_TYPE),
  // Length first: a huge subject array is one issue, not one per element.
  subject: z.array(z.unknown()).length(1).pipe(z.array(z.looseObject({ name: z.string().max(1024), digest: z.looseObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }) }))),
  predicateType: z.string(),
  predicate: z.record(z.string(), z.unknown()),
});

/** Bounds for a statement: ours has a few dozen values; unknown predicate fields get some room. */
export const STATEMENT_JSON_BOUNDS = { maxDepth: 32, maxValues: 10_000 };

/**
 * Parses a verified payload. Only call it on bytes whose signatures have been checked; it is bounded
 * all the same (a trusted signer's tooling can still be wrong).
 */
export function parseStatement(payload: Buffer): BundleStatement {
  const raw = parseJsonBounded(payload, 'the signed payload', STATEMENT_JSON_BOUNDS);
  const s = statementSchema.safeParse(raw);
  if (!s.success) throw new RelayError('MALFORMED', `the signed payload is not an in-toto Statement v1 for one bundle: ${formatZodIssues(s.error)}`);
  if (s.data.predicateType !== BUNDLE_PREDICATE_TYPE) {
    throw new RelayError('UNSUPPORTED_FORMAT', `predicateType ${JSON.stringify(s.data.predicateType)} is not ${BUNDLE_PREDICATE_TYPE}`);
  }
  checkFormatVersion(s.data.predicate.formatVersion, 'signed predicate');
  const p = predicateSchema.safeParse(s.data.predicate);
  if (!p.success) throw new RelayError('MALFORMED', `signed predicate is invalid: ${formatZodIssues(p.error)}`);
  return { ...(s.data as unknown as BundleStatement), predicate: p.data as BundleMetadata };
}
