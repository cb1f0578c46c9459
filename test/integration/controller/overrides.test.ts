import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { freshNamespace, sandbox } from '../support/sandbox.js';
import { applyPrimary, cleanupDrNamespace, deploymentApp, drStatus, readLive, waitComplete } from '../promote/support.js';
import { ControllerSetup, controllerPerTest, drCompleted, selected, until } from './support.js';

describe('controller: signed per-target overrides for several applications from one config (real sandbox)', function () {
  this.timeout(300_000);
  const controller = controllerPerTest();

  it('each application gets the overrides pinned to its namespace; the others neither refuse nor show up in its status', async () => {
    const a = await freshNamespace('rr-ctl-ovr-a', ['primary']);
    const b = await freshNamespace('rr-ctl-ovr-b', ['primary']);
    cleanupDrNamespace(a);
    cleanupDrNamespace(b);
    const overrides = [
      { name: 'orders-db', select: { namespace: a, kind: 'ConfigMap' }, mergePatch: { data: { DB_HOST: 'orders.shenzhen.internal' } } },
      { name: 'billing-db', select: { namespace: b, kind: 'ConfigMap' }, mergePatch: { data: { DB_HOST: 'billing.shenzhen.internal' } } },
    ];
    const setup = new ControllerSetup({ namespaces: [a, b], targets: [{ name: 'shenzhen', context: 'dr', kubeconfig: sandbox().kubeconfig, overrides }] });
    await applyPrimary(selected(deploymentApp(a, 'orders', 'registry.example/orders:1')));
    await applyPrimary(selected(deploymentApp(b, 'billing', 'registry.example/billing:1')));
    const ha = await waitComplete('Deployment', a, 'orders', 'registry.example/orders:1');
    const hb = await waitComplete('Deployment', b, 'billing', 'registry.example/billing:1');
    await controller.start(setup);
    await until('the controller promotes both applications', async () => (await drCompleted(`${a}/orders`, ha)) && (await drCompleted(`${b}/billing`, hb)));

    type ConfigMap = KubernetesObject & { data: Record<string, string> };
    assert.deepEqual((await readLive<ConfigMap>('dr', 'v1', 'ConfigMap', a, 'orders-config')).data, { TIMEOUT: '3s', DB_HOST: 'orders.shenzhen.internal' });
    assert.deepEqual((await readLive<ConfigMap>('dr', 'v1', 'ConfigMap', b, 'billing-config')).data, { TIMEOUT: '3s', DB_HOST: 'billing.shenzhen.internal' });
    assert.deepEqual((await drStatus(`${a}/orders`))?.overrides?.applied, [{ name: 'orders-db', type: 'mergePatch', objects: [`ConfigMap ${a}/orders-config`] }]);
    assert.deepEqual((await drStatus(`${b}/billing`))?.overrides?.applied, [{ name: 'billing-db', type: 'mergePatch', objects: [`ConfigMap ${b}/billing-config`] }]);
    assert.equal((await drStatus(`${a}/orders`))?.overrides?.digest, (await drStatus(`${b}/billing`))?.overrides?.digest, 'one signed overrides file for the target, in both bundles');
  });
});
