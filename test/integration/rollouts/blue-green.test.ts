import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { selectorManagers } from '../../../src/overrides/index.js';
import type { PromotionResult } from '../../../src/promote/types.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { INSTANCE, RelaySetup, applyPrimary, cleanupDrNamespace, deleteDrNamespaces, drStatus, readLive, waitComplete } from '../promote/support.js';
import { freshNamespace } from '../support/sandbox.js';

type Rollout = KubernetesObject & { status?: { stableRS?: string; phase?: string } };
type Service = KubernetesObject & { spec?: { selector?: Record<string, string> } };
const HASH = 'rollouts-pod-template-hash';

/** A blue-green application in primary: active and preview Services and the Rollout naming them. */
function blueGreenApp(ns: string, image: string): KubernetesObject[] {
  const sel = { app: 'web' };
  const labels = { [INSTANCE]: 'web' };
  const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, labels }, spec: { selector: sel, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }) as KubernetesObject;
  return [
    service('web-active'),
    service('web-preview'),
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: ns, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: sel },
        template: { metadata: { labels: sel }, spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 8080 }] }] } },
        strategy: { blueGreen: { activeService: 'web-active', previewService: 'web-preview' } },
      },
    } as KubernetesObject,
  ];
}

/**
 * The second release of a blue-green Rollout to DR, with the real Argo Rollouts controller in both
 * clusters. After the first release Argo Rollouts in DR owns the selectors of the active and preview
 * Services (it adds rollouts-pod-template-hash to that atomic map); rollout-relay must not fight it
 * for them, or server-side apply refuses the next release with APPLY_CONFLICT.
 * Every wait is for a condition; the deadlines only bound a broken run.
 */
describe('rollouts: a blue-green Rollout promoted to DR twice (real Argo Rollouts)', function () {
  this.timeout(600_000);
  afterEach(deleteDrNamespaces);

  async function drServes(ns: string, hash: string): Promise<void> {
    await waitFor(`DR: Rollout ${ns}/web Healthy at ${hash}, its Services pointed at it`, async () => {
      const [ro, active, preview] = await Promise.all([
        readLive<Rollout>('dr', 'argoproj.io/v1alpha1', 'Rollout', ns, 'web'),
        readLive<Service>('dr', 'v1', 'Service', ns, 'web-active'),
        readLive<Service>('dr', 'v1', 'Service', ns, 'web-preview'),
      ]);
      return ro.status?.stableRS === hash && ro.status.phase === 'Healthy' && active.spec?.selector?.[HASH] === hash && preview.spec?.selector?.[HASH] === hash;
    }, { timeoutMs: 180_000, intervalMs: 250 });
  }

  it('the second release completes: spec.selector of the active and preview Services is left to Argo Rollouts, DR serves the new pod-template-hash', async () => {
    const ns = await freshNamespace('rr-bluegreen', ['primary']); // DR starts empty: everything is created by the first release
    cleanupDrNamespace(ns);
    const setup = new RelaySetup();
    const promote = (): Promise<PromotionResult> => setup.promoter().promote({ workload: { kind: 'Rollout', namespace: ns, name: 'web' } });

    await applyPrimary(blueGreenApp(ns, 'registry.example/web:1.0'));
    const h1 = await waitComplete('Rollout', ns, 'web', 'registry.example/web:1.0');
    const first = await promote();
    assert.deepEqual(first.targets.map((t) => [t.state, t.code]), [['completed', undefined]], first.targets[0]?.message);
    const firstLeftOut = (await drStatus(`${ns}/web`))?.overrides?.leftOut ?? [];
    assert.deepEqual(firstLeftOut.filter((f) => f.pointer === '/spec/selector'), [], 'created Services are sent with their selector');
    await drServes(ns, h1);
    // The selectors rollout-relay created already carry primary's hash, so DR serves before Argo Rollouts in DR
    // has reconciled each Service: wait until it owns both selectors (what makes the second release a test).
    for (const name of ['web-active', 'web-preview']) {
      await waitFor(`DR: Argo Rollouts took the selector of ${name}`, async () => {
        const svc = await readLive<Service>('dr', 'v1', 'Service', ns, name);
        return selectorManagers(svc.metadata?.managedFields).some((m) => m !== 'rollout-relay');
      }, { timeoutMs: 120_000, intervalMs: 250 });
    }

    await applyPrimary(blueGreenApp(ns, 'registry.example/web:2.0'));
    const h2 = await waitComplete('Rollout', ns, 'web', 'registry.example/web:2.0');
    assert.notEqual(h2, h1);
    const second = await promote();
    assert.deepEqual(second.targets.map((t) => [t.state, t.code]), [['completed', undefined]], second.targets[0]?.message);
    await drServes(ns, h2);
    const active = await readLive<Service>('dr', 'v1', 'Service', ns, 'web-active');
    assert.deepEqual(active.spec?.selector, { app: 'web', [HASH]: h2 }, 'the selector Argo Rollouts set, the rest of it kept');

    const st = await drStatus(`${ns}/web`);
    assert.equal(st?.state, 'completed');
    assert.equal(st?.sequence, second.sequence);
    assert.deepEqual(st?.overrides?.leftOut.filter((f) => f.pointer === '/spec/selector').sort((a, b) => a.object.localeCompare(b.object)), [
      { object: `Service ${ns}/web-active`, pointer: '/spec/selector', reason: `rollout ${ns}/web activeService` },
      { object: `Service ${ns}/web-preview`, pointer: '/spec/selector', reason: `rollout ${ns}/web previewService` },
    ]);
  });
});
