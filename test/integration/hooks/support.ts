import { KubeConfig } from '@kubernetes/client-node';
import { createHookRunner, type HookContext, type HookList } from '../../../src/hooks/index.js';

/** The promotion's view of what must be proven: revision 7, pod-template-hash NEW, previously OLD. */
export const OLD = '5c9d7f6b8';
export const NEW = '6d4f8b7c9';

export function hookContext(extra: Partial<HookContext> = {}): HookContext {
  return {
    application: 'shop/checkout', namespace: 'shop', app: 'checkout', target: 'shenzhen', revision: '7', podTemplateHash: NEW,
    digest: `sha256:${'ab'.repeat(32)}`, kubeConfig: new KubeConfig(), deadline: Date.now() + 100_000, ...extra,
  };
}

/** Hooks from config exactly as a user writes them (validated by createHookRunner). */
export function hooks(raw: unknown[], baseDir = process.cwd()): HookList {
  return createHookRunner(raw, { baseDir });
}
