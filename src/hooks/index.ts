/**
 * Post-hooks on the DR side (design §5). The promotion pipeline depends only on `HookRunner`;
 * `createHookRunner` turns the `hooks:` list of the relay config into one.
 */
import { RelayError } from '../errors.js';
import type { HookRunner } from './types.js';

export type { HookContext, HookRunner, OnHookFailure, PostCheckResult } from './types.js';

export interface HookConfigOptions {
  /** Directory that relative paths in hook configs (Job templates) are resolved against. */
  baseDir: string;
  /** Where the list sits in the config, for error messages. Default: "hooks". */
  where?: string;
}

/** No hooks configured: post-checks pass with no results. */
export const noHooks: HookRunner = { count: 0, run: () => Promise.resolve([]) };

/**
 * Validates the `hooks:` list and returns its runner. Throws CONFIG_INVALID naming the hook.
 * Hook types are added by the post-hooks work; until then only an empty list is valid.
 */
export function createHookRunner(raw: unknown, opts: HookConfigOptions): HookRunner {
  const where = opts.where ?? 'hooks';
  if (raw === undefined || raw === null) return noHooks;
  if (!Array.isArray(raw)) throw new RelayError('CONFIG_INVALID', `${where} must be a list`);
  if (raw.length === 0) return noHooks;
  throw new RelayError('CONFIG_INVALID', `${where}[0]: no hook types are available in this build`);
}
