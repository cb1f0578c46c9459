import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RelayError } from '../errors.js';
import { formatZodIssues, parseJsonBounded } from './bounded-json.js';
import { toCanonicalJson } from './canonical.js';
import type { JsonValue } from './types.js';

/**
 * Per-target differences (design §9 `targets[].overrides` / `ignoreFields`) as they travel inside a
 * bundle: one `overrides/<target>.json` per target that has any, listed in index.json with its
 * digest like every manifest, so DR verifies exactly the patches it applies. Pure.
 */
export const OVERRIDES_DIR = 'overrides/';
/** File names the writer produces and the reader accepts under overrides/ (a target name + .json, ≤ 100 bytes). */
export const OVERRIDES_NAME = /^overrides\/[a-z0-9]([-a-z0-9.]{0,83}[a-z0-9])?\.json$/;
/** An overrides file is configuration, not workload content: a small cap keeps hostile input cheap. */
export const MAX_OVERRIDES_FILE_BYTES = 1024 * 1024;
/** Most overrides (and ignoreFields entries) one target may carry. */
export const MAX_OVERRIDES = 256;

const JSON_POINTER = /^(\/([^~/]|~[01])*)+$/;
export const jsonPointer = z.string().max(1024).regex(JSON_POINTER, 'must be a JSON pointer like /spec/replicas (RFC 6901)');

/** Pointers nobody may override or leave out: they name the object itself. */
const IDENTITY_POINTERS = ['/apiVersion', '/kind', '/metadata', '/metadata/name', '/metadata/namespace'];

const glob = (what: string) => z.string().max(253).regex(/^[A-Za-z0-9.*?_-]*$/, `${what}: a name or a glob of one (*, ?)`);
export const objectSelectorSchema = z.strictObject({
  group: glob('group').optional(),
  kind: glob('kind').optional(),
  namespace: glob('namespace').optional(),
  name: glob('name').optional(),
});

const jsonPatchOp = z.strictObject({
  op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
  path: jsonPointer,
  value: z.unknown().optional(),
  from: jsonPointer.optional(),
}).superRefine((o, ctx) => {
  if (['add', 'replace', 'test'].includes(o.op) && o.value === undefined) ctx.addIssue({ code: 'custom', message: `op ${o.op} needs a value` });
  if (['move', 'copy'].includes(o.op) && o.from === undefined) ctx.addIssue({ code: 'custom', message: `op ${o.op} needs from` });
  if (IDENTITY_POINTERS.includes(o.path) || (o.from !== undefined && o.op === 'move' && IDENTITY_POINTERS.includes(o.from))) {
    ctx.addIssue({ code: 'custom', message: `${o.path} names the object itself (apiVersion, kind, name, namespace); an override may not change it` });
  }
});

export const overrideSchema = z.strictObject({
  /** Named in errors and the status; default `overrides[<i>]`. */
  name: z.string().min(1).max(63).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lower-case DNS-1123 name').optional(),
  select: objectSelectorSchema.optional(),
  mergePatch: z.record(z.string(), z.unknown()).optional(),
  jsonPatch: z.array(jsonPatchOp).min(1).max(256).optional(),
}).superRefine((o, ctx) => {
  if ((o.mergePatch === undefined) === (o.jsonPatch === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of mergePatch or jsonPatch' });
  if (o.mergePatch) {
    for (const k of ['apiVersion', 'kind']) if (k in o.mergePatch) ctx.addIssue({ code: 'custom', path: ['mergePatch', k], message: 'an override may not change the object itself (apiVersion, kind, name, namespace)' });
    const md = o.mergePatch.metadata;
    if (md === null || (typeof md === 'object' && !Array.isArray(md) && ('name' in md || 'namespace' in md))) {
      ctx.addIssue({ code: 'custom', path: ['mergePatch', 'metadata'], message: 'an override may not change the object itself (apiVersion, kind, name, namespace)' });
    }
  }
});

export const ignoreFieldSchema = z.strictObject({
  group: glob('group').optional(),
  kind: glob('kind').min(1),
  namespace: glob('namespace').optional(),
  name: glob('name').optional(),
  pointers: z.array(jsonPointer.refine((p) => !IDENTITY_POINTERS.includes(p), 'names the object itself (apiVersion, kind, name, namespace); it cannot be left out')).min(1).max(64),
});

export type ObjectSelector = z.infer<typeof objectSelectorSchema>;
export type JsonPatchOperation = z.infer<typeof jsonPatchOp>;
export interface Override {
  name?: string;
  select?: ObjectSelector;
  mergePatch?: Record<string, unknown>;
  jsonPatch?: JsonPatchOperation[];
}
export type IgnoreField = z.infer<typeof ignoreFieldSchema>;

/** What one target applies differently from primary. */
export interface TargetDifferences {
  target: string;
  overrides: Override[];
  ignoreFields: IgnoreField[];
}

const fileSchema = z.strictObject({
  target: z.string().min(1).max(85),
  overrides: z.array(overrideSchema).max(MAX_OVERRIDES),
  ignoreFields: z.array(ignoreFieldSchema).max(MAX_OVERRIDES),
});

/** `overrides/<target>.json`. */
export function overridesPath(target: string): string {
  const path = `${OVERRIDES_DIR}${target}.json`;
  if (!OVERRIDES_NAME.test(path)) throw new RelayError('USAGE', `target name "${target.slice(0, 120)}" cannot name an overrides file (a lower-case DNS-1123 name of at most 85 characters)`);
  return path;
}

/** The target an overrides path names. */
export function targetOfOverridesPath(path: string): string {
  return path.slice(OVERRIDES_DIR.length, -'.json'.length);
}

/** The display name of override `i` of a target: its `name`, or `overrides[i]`. */
export function overrideName(o: Override, i: number): string {
  return o.name ?? `overrides[${i}]`;
}

/** Deterministic file bytes: keys sorted at every level, two-space indent, trailing newline. */
export function serializeTargetDifferences(d: TargetDifferences): Buffer {
  const canonical = toCanonicalJson({ target: d.target, overrides: d.overrides, ignoreFields: d.ignoreFields }, 'overrides');
  return Buffer.from(JSON.stringify(canonical, null, 2) + '\n', 'utf8');
}

/** `sha256:<hex>` of the file as stored; the status records it so DR shows which patches it applied. */
export function targetDifferencesDigest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Parses an overrides file from a bundle (untrusted until the signature matched; bounded anyway):
 * size, nesting and value count are capped before JSON.parse, then every field is checked and the
 * file's `target` must be the one its path names. Throws MALFORMED.
 */
export function parseTargetDifferences(bytes: Uint8Array, path: string): TargetDifferences {
  if (bytes.length > MAX_OVERRIDES_FILE_BYTES) throw new RelayError('TOO_LARGE', `${path} is ${bytes.length} bytes, above the ${MAX_OVERRIDES_FILE_BYTES}-byte limit for an overrides file; refused`);
  const raw = parseJsonBounded(bytes, path, { maxDepth: 64, maxValues: 100_000 });
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new RelayError('MALFORMED', `${path} is invalid: ${formatZodIssues(parsed.error)}`);
  const target = targetOfOverridesPath(path);
  if (parsed.data.target !== target) throw new RelayError('MALFORMED', `${path} names target ${JSON.stringify(parsed.data.target)}; the file of a target must name that target`);
  return parsed.data as TargetDifferences;
}

/** True when a target has anything to carry. */
export function hasDifferences(d: Pick<TargetDifferences, 'overrides' | 'ignoreFields'>): boolean {
  return d.overrides.length > 0 || d.ignoreFields.length > 0;
}

export type { JsonValue };
