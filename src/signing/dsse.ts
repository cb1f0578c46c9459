import { z } from 'zod';
import { formatZodIssues, parseJsonBounded } from '../bundle/bounded-json.js';
import { RelayError } from '../errors.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Envelopes above this size are refused before parsing. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export interface EnvelopeSignature {
  /** Hex key id (SHA-256 of SPKI DER). Empty or absent: every trusted key is tried. */
  keyid?: string;
  /** Standard base64 signature. */
  sig: string;
}

/** A DSSE envelope (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md). */
export interface Envelope {
  payloadType: string;
  /** Standard base64 payload. */
  payload: string;
  signatures: EnvelopeSignature[];
}

/** DSSE v1 pre-authentication encoding: the exact bytes every signature covers. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

// One character class, no repeated group: a group repeated a million times makes the regex engine
// keep a backtrack entry per repetition (≈ 70 MiB and 0.6 s for a 4 MiB payload).
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Canonical standard base64 only: no whitespace, no URL alphabet, no non-zero trailing bits. */
export function decodeBase64Strict(text: string, what: string): Buffer {
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw new RelayError('MALFORMED', `${what} is not standard base64`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new RelayError('MALFORMED', `${what} is not canonical base64`);
  return bytes;
}

const ENVELOPE_JSON_BOUNDS = { maxDepth: 8, maxValues: 1024 };

const envelopeSchema = z.strictObject({
  payloadType: z.string().min(1),
  payload: z.string(),
  signatures: z
    .array(z.unknown())
    .min(1)
    .max(64)
    .pipe(z.array(z.strictObject({ keyid: z.string().optional(), sig: z.string().min(1) }))),
});

/**
 * Parses an envelope strictly: unknown fields, non-canonical base64 and a wrong payload type are
 * MALFORMED, so no byte of an envelope can change without the change being seen.
 */
export function parseEnvelope(bytes: Uint8Array | string, where = 'signature'): Envelope {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (size > MAX_ENVELOPE_BYTES) throw new RelayError('TOO_LARGE', `${where} is ${size} bytes, above ${MAX_ENVELOPE_BYTES}; refused`);
  // An envelope has at most 64 signatures of 2 fields: a few hundred values, shallow.
  const raw = parseJsonBounded(bytes, where, ENVELOPE_JSON_BOUNDS);
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) throw new RelayError('MALFORMED', `${where} is not a DSSE envelope: ${formatZodIssues(parsed.error)}`);
  const env = parsed.data;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new RelayError('UNSUPPORTED_FORMAT', `${where} has payloadType ${JSON.stringify(env.payloadType.slice(0, 80))}, want ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  decodeBase64Strict(env.payload, `${where} payload`);
  env.signatures.forEach((s, i) => {
    decodeBase64Strict(s.sig, `${where} signature ${i + 1}`);
    if (s.keyid !== undefined && s.keyid !== '' && !/^[0-9a-f]{64}$/.test(s.keyid)) {
      throw new RelayError('MALFORMED', `${where} signature ${i + 1}: keyid is not a lower-case hex SHA-256 key id`);
    }
  });
  return env;
}

/** Compact JSON without a trailing newline: any single-byte change makes it unparseable or different. */
export function serializeEnvelope(env: Envelope): string {
  return JSON.stringify({
    payloadType: env.payloadType,
    payload: env.payload,
    signatures: env.signatures.map((s) => (s.keyid === undefined ? { sig: s.sig } : { keyid: s.keyid, sig: s.sig })),
  });
}
