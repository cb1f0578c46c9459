import { parseStrictYaml } from '../strict-yaml.js';
import { z } from 'zod';
import { formatZodIssues } from '../bundle/bounded-json.js';
import { ignoreFieldSchema, MAX_OVERRIDES, overrideName, overrideSchema, type TargetDifferences } from '../bundle/overrides-file.js';
import { MAX_SETTINGS_FILE_BYTES, readBoundedFileSync } from '../bounded-file.js';
import { RelayError } from '../errors.js';

/** Only the per-target differences of a file shaped like a RelayConfig (other fields are not read here). */
const schema = z.looseObject({
  targets: z.array(z.looseObject({
    name: z.string().min(1),
    overrides: z.array(overrideSchema).max(MAX_OVERRIDES).default([]),
    ignoreFields: z.array(ignoreFieldSchema).max(MAX_OVERRIDES).default([]),
  })).min(1),
});

/**
 * `bundle create --overrides FILE`: the `targets[].{name, overrides, ignoreFields}` of a RelayConfig
 * (or of any YAML with that shape), so a bundle made by hand carries the same signed differences as
 * one `promote` makes. Throws CONFIG_INVALID naming the bad field.
 */
export function loadTargetDifferences(path: string): TargetDifferences[] {
  const text = readBoundedFileSync(path, { what: 'overrides file', maxBytes: MAX_SETTINGS_FILE_BYTES, code: 'CONFIG_INVALID' }).toString('utf8');
  const raw = parseStrictYaml(text, 'CONFIG_INVALID', path);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new RelayError('CONFIG_INVALID', `${path}: ${formatZodIssues(parsed.error)}`);
  return parsed.data.targets.map((t, i) => {
    const names = new Set<string>();
    t.overrides.forEach((o, j) => {
      const n = overrideName(o, j);
      if (names.has(n)) throw new RelayError('CONFIG_INVALID', `${path}: targets[${i}].overrides[${j}].name: "${n}" appears twice`);
      names.add(n);
    });
    return { target: t.name, overrides: t.overrides, ignoreFields: t.ignoreFields } as TargetDifferences;
  });
}
