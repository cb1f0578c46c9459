/**
 * Post-hooks on the DR side (design §5). The promotion pipeline depends only on `HookRunner`;
 * `createHookRunner` turns the `hooks:` list of the relay config into one.
 */
import { parseHookSpecs, type HookSpec } from './config.js';
import type { Hook } from './hook.js';
import { JobHook } from './job.js';
import { PrometheusHook } from './prometheus.js';
import { HookList, type HookListOptions } from './runner.js';
import { TrafficColourHook } from './traffic-colour.js';
import type { HookRunner } from './types.js';

export type { HookContext, HookRunner, OnHookFailure, PostCheckResult } from './types.js';
export { HookList, type HookListOptions } from './runner.js';
export { HOOK_TYPES, COMPARISONS, DEFAULT_HOOK_TIMEOUT_MS, type HookSpec } from './config.js';
export { TEMPLATE_VARIABLES, renderTemplate } from './template.js';
export { HOOK_LABEL, jobName } from './job.js';

export interface HookConfigOptions {
  /** Directory that relative paths in hook configs (Job templates) are resolved against. */
  baseDir: string;
  /** Where the list sits in the config, for error messages. Default: "hooks". */
  where?: string;
}

/** No hooks configured: post-checks pass with no results. */
export const noHooks: HookRunner = new HookList([]);

function hookOf(spec: HookSpec): Hook {
  switch (spec.type) {
    case 'traffic-colour': return new TrafficColourHook(spec);
    case 'prometheus': return new PrometheusHook(spec);
    case 'job': return new JobHook(spec);
  }
}

/**
 * Validates the `hooks:` list (types, comparisons, URLs, placeholders, Job templates read now) and
 * returns its runner, a `HookList`. Throws CONFIG_INVALID naming the hook.
 */
export function createHookRunner(raw: unknown, opts: HookConfigOptions, runner: HookListOptions = {}): HookList {
  return new HookList(parseHookSpecs(raw, opts.baseDir, opts.where ?? 'hooks').map(hookOf), runner);
}
