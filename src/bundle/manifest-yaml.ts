import { Document, isScalar, parseAllDocuments, Scalar, visit, type DocumentOptions, type ParseOptions, type SchemaOptions, type ToStringOptions } from 'yaml';
import { RelayError } from '../errors.js';
import { checkJsonBounds } from './bounded-json.js';
import { MAX_MANIFEST_NESTING, toCanonicalJson } from './canonical.js';
import type { JsonValue, KubeObject } from './types.js';

const DROPPED_TAGS = ['timestamp', 'binary', 'omap', 'pairs', 'set'].map((t) => `tag:yaml.org,2002:${t}`);

/**
 * YAML 1.1 as kubectl reads it (sigs.k8s.io/yaml): `yes`/`on` are booleans, `0755` is octal, merge
 * keys work. Timestamps, sexagesimal numbers and the binary/set/omap/pairs types are left out so every
 * value maps to plain JSON the way the API server sees it.
 */
const SCHEMA: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  schema: 'yaml-1.1',
  customTags: (tags) => tags.filter((t) => typeof t === 'string' || (t.format !== 'TIME' && !DROPPED_TAGS.includes(t.tag))),
  uniqueKeys: true,
  strict: true,
  prettyErrors: false,
};

const STRINGIFY: ToStringOptions = { lineWidth: 0, minContentWidth: 0, indentSeq: true };

/** Canonical YAML text of an already canonical object: sorted keys, no folding, ambiguous strings quoted. */
export function stringifyManifest(obj: KubeObject): string {
  const doc = new Document(toCanonicalJson(obj), { ...SCHEMA, sortMapEntries: true, aliasDuplicateObjects: false });
  // A literal "<<" key must not read back as a YAML 1.1 merge key.
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && String(pair.key.toJSON()) === '<<') {
        const key = new Scalar('<<');
        key.type = 'QUOTE_DOUBLE';
        key.tag = 'tag:yaml.org,2002:str'; // the merge tag claims any '<<' string otherwise
        pair.key = key;
      }
    },
  });
  return doc.toString(STRINGIFY);
}

/**
 * Every object in a YAML (multi-document) or JSON text. `kind: List` documents are flattened; empty
 * documents are skipped. Throws MALFORMED naming the file.
 */
export function parseManifestText(text: string, fileName: string): unknown[] {
  const out: unknown[] = [];
  let values: unknown[];
  if (fileName.endsWith('.json')) {
    checkJsonBounds(Buffer.from(text, 'utf8'), fileName, { maxDepth: MAX_MANIFEST_NESTING, maxValues: Number.MAX_SAFE_INTEGER });
    try {
      values = [JSON.parse(text)];
    } catch (err) {
      throw new RelayError('MALFORMED', `${fileName}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
  } else {
    let docs: ReturnType<typeof parseAllDocuments>;
    try {
      docs = parseAllDocuments(text, SCHEMA);
    } catch (err) {
      throw new RelayError('MALFORMED', `${fileName}: ${err instanceof RangeError ? `nests too deeply (${MAX_MANIFEST_NESTING} levels at most)` : (err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(docs)) throw new RelayError('MALFORMED', `${fileName}: not a YAML stream`);
    values = docs.map((doc, i) => {
      const first = doc.errors[0];
      if (first) throw new RelayError('MALFORMED', `${fileName}: document ${i + 1}: ${first.message.split('\n')[0]}`);
      try {
        return doc.toJS({ maxAliasCount: 100 }) as unknown;
      } catch (err) {
        const why = err instanceof RangeError ? `nests too deeply (${MAX_MANIFEST_NESTING} levels at most)` : (err as Error).message;
        throw new RelayError('MALFORMED', `${fileName}: document ${i + 1}: ${why}`, { cause: err });
      }
    });
  }
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object' && !Array.isArray(v) && (v as { kind?: unknown }).kind === 'List' && Array.isArray((v as { items?: unknown }).items)) {
      out.push(...((v as { items: unknown[] }).items));
    } else out.push(v);
  }
  return out;
}

/** Stateless (no `stream` option), so one decoder serves every manifest: constructing one per file showed in profiles. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** One bundle manifest file back into its object; used by the bundle reader. */
export function parseBundleManifest(bytes: Uint8Array, path: string): KubeObject {
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch (err) {
    throw new RelayError('MALFORMED', `${path}: not valid UTF-8`, { cause: err });
  }
  const objs = parseManifestText(text, path);
  if (objs.length !== 1) throw new RelayError('MALFORMED', `${path}: holds ${objs.length} objects, want exactly 1`);
  const obj = toCanonicalJson(objs[0], path) as JsonValue;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') {
    throw new RelayError('MALFORMED', `${path}: not a Kubernetes object`);
  }
  const meta = obj.metadata;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta) || typeof meta.name !== 'string') {
    throw new RelayError('MALFORMED', `${path}: metadata.name missing`);
  }
  return obj as unknown as KubeObject;
}
