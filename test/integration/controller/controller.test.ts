import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { parse as parseYaml, stringify } from 'yaml';
import { freshNamespace, kubeConfig, sandbox } from '../support/sandbox.js';
import { applyPrimary, cleanupDrNamespace, closedPort, deploymentApp, drStatus, objects, readLive, rolloutApp, waitComplete } from '../promote/support.js';
import { SourceRecord } from '../../../src/promote/source-record.js';
import { ControllerSetup, StatusHistory, SwitchableProxy, controllerPerTest, drCompleted, drServer, drVersions, post, selected, until } from './support.js';

type Rollout = { status?: { stableRS?: string; phase?: string }; metadata?: { resourceVersion?: string; annotations?: Record<string, string> } };

describe('controller: the promotion loop on the real sandbox', function () {
  this.timeout(300_000);
  const controller = controllerPerTest();

  it('image update of a Rollout and of a Deployment in primary → the controller alone brings DR to the same pod-template-hash; read API, /readyz and /metrics agree', async () => {
    const ns = await freshNamespace('rr-ctl', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    await applyPrimary(selected(rolloutApp(ns, 'checkout', 'registry.example/checkout:1')));
    await applyPrimary(selected(deploymentApp(ns, 'orders', 'registry.example/orders:1')));
    const h1 = await waitComplete('Rollout', ns, 'checkout', 'registry.example/checkout:1');
    const d1 = await waitComplete('Deployment', ns, 'orders', 'registry.example/orders:1');
    const ctl = await controller.start(setup);
    // Start-up catch-up: DR is empty, so both are behind and get promoted without any new Event.
    await until('catch-up of both applications', async () => (await drCompleted(`${ns}/checkout`, h1)) && (await drCompleted(`${ns}/orders`, d1)));

    const t0 = Date.now();
    await applyPrimary(selected(rolloutApp(ns, 'checkout', 'registry.example/checkout:2')));
    await applyPrimary(selected(deploymentApp(ns, 'orders', 'registry.example/orders:2')));
    const h2 = await waitComplete('Rollout', ns, 'checkout', 'registry.example/checkout:2');
    const d2 = await waitComplete('Deployment', ns, 'orders', 'registry.example/orders:2');
    const tPrimary = Date.now();
    await until('DR at the new revisions', async () => (await drCompleted(`${ns}/checkout`, h2)) && (await drCompleted(`${ns}/orders`, d2)));
    console.log(`      image update → primary complete ${((tPrimary - t0) / 1000).toFixed(1)} s → DR completed ${((Date.now() - tPrimary) / 1000).toFixed(1)} s later`);

    const dr = await readLive<Rollout>('dr', 'argoproj.io/v1alpha1', 'Rollout', ns, 'checkout');
    assert.equal(dr.status?.stableRS, h2, 'DR runs the same pod-template-hash');
    const st = (await drStatus(`${ns}/checkout`))!;
    assert.equal(st.sourceCluster, 'shanghai');
    assert.match(st.bundleDigest, /^sha256:[0-9a-f]{64}$/);
    const rsets = (await objects('dr').listRaw('apps/v1', 'ReplicaSet', ns)).items;
    assert.ok(rsets.some((r) => r.metadata?.labels?.['pod-template-hash'] === d2), 'the Deployment runs the same pod-template-hash in DR');
    for (const [app, hash] of [['checkout', h2], ['orders', d2]] as const) {
      assert.equal(ctl.logged('promoting', (l) => l.application === `${ns}/${app}` && l.podTemplateHash === hash).length, 1, `${app}: one promotion of the new revision`);
    }

    const ready = await fetch(`${ctl.url}/readyz`);
    assert.equal(ready.status, 200);
    // Each target's effective signing scope is served, so operators see every key's blast radius.
    const readyBody = await ready.json() as { scopes: { target: string; keys: { key: string; counts: boolean; summary: string }[] }[] };
    assert.deepEqual(readyBody.scopes.map((s) => s.target), ['shenzhen']);
    assert.ok(readyBody.scopes[0]!.keys.length > 0 && readyBody.scopes[0]!.keys.every((k) => k.summary.length > 0), JSON.stringify(readyBody.scopes));
    assert.equal(ctl.logged('effective signing scope', (l) => l.target === 'shenzhen').length, 1);
    const view = await (await fetch(`${ctl.url}/api/v1/applications/${ns}/checkout`, { headers: { Authorization: `Bearer ${setup.token}` } })).json() as { targets: { target: string; hotUpdateStatus: string; inSync: boolean; lagSeconds: number; bundleDigest: string }[] };
    assert.deepEqual(view.targets.map((t) => [t.target, t.hotUpdateStatus, t.inSync, t.lagSeconds]), [['shenzhen', 'completed', true, 0]]);
    assert.equal(view.targets[0]!.bundleDigest, st.bundleDigest);
    assert.equal((await fetch(`${ctl.url}/api/v1/applications/${ns}/checkout`)).status, 401);
    const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
    assert.ok(metrics.includes(`rollout_relay_promotions_total{application="${ns}/checkout",target="shenzhen",result="completed"} 2`), metrics.split('\n').filter((l) => l.startsWith('rollout_relay_promotions')).join('\n'));
    assert.ok(metrics.includes(`rollout_relay_dr_lag_seconds{application="${ns}/checkout",target="shenzhen"} 0`));
    assert.match(metrics, /rollout_relay_phase_duration_seconds_count\{phase="apply"\} \d+/);
    assert.match(metrics, /rollout_relay_phase_duration_seconds_count\{phase="total"\} [1-9]/, 'detection → finished is recorded for the SLA alert');
  });

  it('Events deleted before the controller sees them → still promoted once, from the Rollout\'s own status', async () => {
    const ns = await freshNamespace('rr-ctl-ev', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    await applyPrimary(selected(rolloutApp(ns, 'web', 'registry.example/web:1')));
    const hash = await waitComplete('Rollout', ns, 'web', 'registry.example/web:1');
    const core = kubeConfig('primary').makeApiClient(CoreV1Api);
    await core.deleteCollectionNamespacedEvent({ namespace: ns });
    assert.equal((await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === 'RolloutCompleted').length, 0, 'no RolloutCompleted Event left');

    const ctl = await controller.start(setup);
    await until('DR completed', () => drCompleted(`${ns}/web`, hash));
    const history = new StatusHistory(ns, 'web');
    await new Promise((r) => setTimeout(r, 4000));
    await history.stop();
    assert.equal(ctl.logged('promoting', (l) => l.application === `${ns}/web`).length, 1, 'one promotion');
    const st = (await drStatus(`${ns}/web`))!;
    assert.equal(history.records.length, 1, 'no status write after completion');
    assert.equal(history.last?.updateCount, st.updateCount);
  });

  it('the same Event delivered twice (and two notify calls) → one promotion: DR status and object resourceVersions unchanged', async () => {
    const ns = await freshNamespace('rr-ctl-dup', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    const ctl = await controller.start(setup);
    await applyPrimary(selected(rolloutApp(ns, 'cart', 'registry.example/cart:1')));
    const hash = await waitComplete('Rollout', ns, 'cart', 'registry.example/cart:1');
    await until('DR completed', () => drCompleted(`${ns}/cart`, hash));
    await new Promise((r) => setTimeout(r, 1000)); // let the Event of this completion arrive and be judged
    const before = (await drStatus(`${ns}/cart`))!;
    const versions = await drVersions(ns, 'cart');
    const hintsBefore = ctl.logged('hint', (l) => l.reason === 'event').length;

    const core = kubeConfig('primary').makeApiClient(CoreV1Api);
    const completed = await until('the RolloutCompleted Event', async () => (await core.listNamespacedEvent({ namespace: ns })).items.find((e) => e.reason === 'RolloutCompleted' && e.involvedObject.name === 'cart'));
    // Delivered twice: once more as a new Event object with the same content, once as an update of the original.
    const copy: CoreV1Event = { ...completed, metadata: { name: `${completed.metadata?.name}-again`, namespace: ns } };
    await core.createNamespacedEvent({ namespace: ns, body: copy });
    await core.replaceNamespacedEvent({ name: completed.metadata!.name!, namespace: ns, body: { ...completed, count: (completed.count ?? 1) + 1 } });
    assert.equal(await post(`${ctl.url}/api/v1/notify`, { namespace: ns, name: 'cart' }, setup.token), 202);
    assert.equal(await post(`${ctl.url}/api/v1/notify`, { namespace: ns, name: 'cart' }, setup.token), 202);
    await until('both Event deliveries and both notifies re-read the Rollout', () =>
      ctl.logged('hint', (l) => l.reason === 'event').length >= hintsBefore + 2 && ctl.logged('hint', (l) => l.reason === 'notify').length >= 2);
    await new Promise((r) => setTimeout(r, 2000));

    const after = (await drStatus(`${ns}/cart`))!;
    assert.equal(after.sequence, before.sequence);
    assert.equal(after.updateCount, before.updateCount, 'the status ConfigMap was not written again');
    assert.deepEqual(await drVersions(ns, 'cart'), versions, 'DR objects untouched');
    assert.equal(ctl.logged('promoting', (l) => l.application === `${ns}/cart`).length, 1);
  });

  it('three revisions completing back to back → DR ends on the newest; its status never shows an older sequence after a newer one', async () => {
    const ns = await freshNamespace('rr-ctl-seq', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    await controller.start(setup);
    await applyPrimary(selected(rolloutApp(ns, 'api', 'registry.example/api:1')));
    const h1 = await waitComplete('Rollout', ns, 'api', 'registry.example/api:1');
    await until('DR at revision 1', () => drCompleted(`${ns}/api`, h1));
    const history = new StatusHistory(ns, 'api');
    let last = '';
    for (const v of [2, 3, 4]) {
      await applyPrimary(selected(rolloutApp(ns, 'api', `registry.example/api:${v}`)));
      last = await waitComplete('Rollout', ns, 'api', `registry.example/api:${v}`);
    }
    await until('DR at the newest revision', () => drCompleted(`${ns}/api`, last), 120_000);
    await new Promise((r) => setTimeout(r, 2000));
    await history.stop();
    const seen = history.records.map((r) => `${r.sequence}:${r.revision}:${r.state}`);
    console.log(`      DR status versions: ${seen.join(' → ')}`);
    for (let i = 1; i < history.records.length; i++) {
      assert.ok(history.records[i]!.sequence >= history.records[i - 1]!.sequence, `sequence went back: ${seen.join(' → ')}`);
      assert.ok(Number(history.records[i]!.revision) >= Number(history.records[i - 1]!.revision), `revision went back: ${seen.join(' → ')}`);
    }
    assert.equal(history.last?.state, 'completed');
    assert.equal(history.last?.podTemplateHash, last);
    const dr = await readLive<Rollout>('dr', 'argoproj.io/v1alpha1', 'Rollout', ns, 'api');
    assert.equal(dr.status?.stableRS, last);
  });

  it('an unreachable target fails with CLUSTER_UNREACHABLE and catches up by itself once reachable', async () => {
    const ns = await freshNamespace('rr-ctl-down', ['primary']);
    cleanupDrNamespace(ns);
    // The DR API server behind a relay on a fixed port that starts switched off.
    const proxy = new SwitchableProxy(await closedPort(), drServer());
    const kc = parseYaml(readFileSync(sandbox().kubeconfig, 'utf8')) as { clusters: { name: string; cluster: Record<string, unknown> }[]; contexts: { name: string; context: { cluster: string; user: string } }[] };
    const drCtx = kc.contexts.find((c) => c.name === 'dr')!;
    const drCluster = kc.clusters.find((c) => c.name === drCtx.context.cluster)!;
    kc.clusters.push({ name: 'shenzhen-relay', cluster: { ...drCluster.cluster, server: `https://127.0.0.1:${proxy.port}` } });
    kc.contexts.push({ name: 'dr-relay', context: { cluster: 'shenzhen-relay', user: drCtx.context.user } });
    const setup = new ControllerSetup({ namespaces: [ns], targets: [] });
    const kubeconfigPath = join(setup.dir, 'kubeconfig-relay');
    writeFileSync(kubeconfigPath, stringify(kc), { mode: 0o600 });
    const config = parseYaml(readFileSync(setup.configPath, 'utf8')) as Record<string, unknown>;
    config.targets = [{ name: 'shenzhen', context: 'dr-relay', kubeconfig: kubeconfigPath }];
    writeFileSync(setup.configPath, stringify(config));

    await applyPrimary(selected(rolloutApp(ns, 'pay', 'registry.example/pay:1')));
    const hash = await waitComplete('Rollout', ns, 'pay', 'registry.example/pay:1');
    const ctl = await controller.start(setup);
    try {
      const record = new SourceRecord(kubeConfig('primary'), `${ns}/pay`);
      const failed = await until('the source record says CLUSTER_UNREACHABLE', async () => {
        const t = (await record.read())?.record.targets.shenzhen;
        return t?.state === 'failed' && t.code === 'CLUSTER_UNREACHABLE' ? t : undefined;
      });
      assert.equal(failed.code, 'CLUSTER_UNREACHABLE');
      await until('a retry is scheduled', () => ctl.logged('will retry').length > 0);
      const downFor = Date.now();
      await proxy.on();
      await until('DR completed after the target came back', () => drCompleted(`${ns}/pay`, hash), 90_000);
      console.log(`      caught up ${((Date.now() - downFor) / 1000).toFixed(1)} s after the target became reachable`);
      // DR's status says completed before the controller records the outcome in primary: wait for that write too.
      await until('the source record says completed', async () => (await record.read())?.record.targets.shenzhen?.state === 'completed');
    } finally {
      await controller.stop();
      await proxy.off();
    }
  });
});
