import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { SandboxState } from '../../../src/sandbox/index.js';

/** The one sandbox of this test run, started by the root hooks. */
let current: SandboxState | undefined;

export function setSandbox(state: SandboxState | undefined): void {
  current = state;
}

export function sandbox(): SandboxState {
  if (!current) throw new Error('the sandbox is not up: integration tests need test/integration/root-hooks.ts');
  return current;
}

/** A KubeConfig for one sandbox context (`primary` or `dr`). */
export function kubeConfig(context: 'primary' | 'dr'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(sandbox().kubeconfig);
  kc.setCurrentContext(context);
  return kc;
}

const created: { context: 'primary' | 'dr'; name: string }[] = [];

/** Creates a uniquely named namespace in the given clusters; the root hooks delete it after the test. */
export async function freshNamespace(prefix: string, contexts: ('primary' | 'dr')[] = ['primary', 'dr']): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  for (const context of contexts) {
    await kubeConfig(context).makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'rollout-relay.io/test': 'true' } } } });
    created.push({ context, name });
  }
  return name;
}

export async function deleteTestNamespaces(): Promise<void> {
  const batch = created.splice(0);
  await Promise.all(batch.map(async ({ context, name }) => {
    try {
      await kubeConfig(context).makeApiClient(CoreV1Api).deleteNamespace({ name, propagationPolicy: 'Background' });
    } catch {
      // already gone
    }
  }));
}

/** Deletes a namespace and waits until it is gone, so a later test can create it again. */
export async function deleteNamespaceAndWait(context: 'primary' | 'dr', name: string, timeoutMs = 60_000): Promise<void> {
  const core = kubeConfig(context).makeApiClient(CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch {
    // already gone
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await core.readNamespace({ name });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${name} in ${context} still exists after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A namespace for a whole suite (freshNamespace's are deleted after every test); the suite deletes
 * it in its `after` with deleteNamespaceAndWait.
 */
export async function suiteNamespace(prefix: string, contexts: ('primary' | 'dr')[]): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  for (const context of contexts) {
    await kubeConfig(context).makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name, labels: { 'rollout-relay.io/test': 'true' } } } });
  }
  return name;
}
