import { RelayError } from '../errors.js';
import type { HookContext } from './types.js';

/**
 * `{{revision}}`-style placeholders in hook configuration (design §5), filled in per promotion.
 * Only the names below exist; an unknown name is a config error found at load, not mid-promotion.
 */
export const TEMPLATE_VARIABLES = ['revision', 'podTemplateHash', 'digest', 'application', 'namespace', 'target'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Record<TemplateVariable, string>;

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]*)\s*\}\}/g;

/** Throws CONFIG_INVALID (naming `where`) when `text` uses a placeholder that does not exist. */
export function checkTemplate(text: string, where: string): void {
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(m[1]!)) {
      throw new RelayError('CONFIG_INVALID', `${where}: unknown placeholder {{${m[1]}}}; use one of ${TEMPLATE_VARIABLES.map((v) => `{{${v}}}`).join(' ')}`);
    }
  }
}

/** True when `text` contains at least one placeholder. */
export function hasPlaceholder(text: string): boolean {
  return [...text.matchAll(PLACEHOLDER)].length > 0;
}

/** Fills in every placeholder. Names were checked at load (checkTemplate). */
export function renderTemplate(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => ((TEMPLATE_VARIABLES as readonly string[]).includes(name) ? values[name as TemplateVariable] : whole));
}

export function templateValues(ctx: Pick<HookContext, 'revision' | 'podTemplateHash' | 'digest' | 'application' | 'namespace' | 'target'>): TemplateValues {
  return { revision: ctx.revision, podTemplateHash: ctx.podTemplateHash, digest: ctx.digest, application: ctx.application, namespace: ctx.namespace, target: ctx.target };
}
