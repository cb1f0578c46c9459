import { parse as parseYaml } from 'yaml';
import { RelayError, type RelayErrorCode } from './errors.js';

/**
 * Parses a user's YAML file (config, trust policy, overrides, drill scenario) strictly: duplicate
 * keys are refused and alias expansion is bounded, so a small file cannot expand into a huge value.
 * A syntax error becomes `code` with the parser's first line, prefixed by `where`.
 */
export function parseStrictYaml(text: string, code: RelayErrorCode, where: string): unknown {
  try {
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (err) {
    throw new RelayError(code, `${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
}
