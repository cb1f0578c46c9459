import assert from 'node:assert/strict';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { freshNamespace, kubeConfig, sandbox, setSandbox } from '../support/sandbox.js';
import { applyPrimary, cleanupDrNamespace, deleteDrNamespaces, drStatus, objects, readLive, rolloutApp, waitComplete } from '../promote/support.js';
import { restartComponent } from '../../../src/sandbox/restart.js';
import { readState } from '../../../src/sandbox/index.js';
import { SourceRecord } from '../../../src/promote/source-record.js';
import { ControllerProcess, ControllerSetup, InProcessController, StatusHistory, drCompleted, drVersions, holdDrScheduling, post, selected, until } from './support.js';

describe('controller: high availability and resilience on the real sandbox', function () {
  this.timeout(400_000);
  afterEach(deleteDrNamespaces);

  it('two replicas of the real CLI: SIGKILL the leader mid-promotion → the other takes over the Lease, finishes it, and the application completes once', async () => {
    const leaseNs = await freshNamespace('rr-lease', ['primary']);
    const ns = await freshNamespace('rr-ha', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns], leaseNamespace: leaseNs });
    await applyPrimary(selected(rolloutApp(ns, 'shop', 'registry.example/shop:1')));
    const h1 = await waitComplete('Rollout', ns, 'shop', 'registry.example/shop:1');

    const a = new ControllerProcess(setup.configPath, 'replica-a');
    const procs = [a];
    try {
      await until('replica-a leads', () => a.logged('leading: promoting from now on').length > 0, 60_000);
      await until('revision 1 in DR', () => drCompleted(`${ns}/shop`, h1), 90_000);
      const b = new ControllerProcess(setup.configPath, 'replica-b');
      procs.push(b);
      await until('replica-b is up and sees the leader', () => b.identity && b.logged('leader observed').some((l) => l.leader === a.identity), 60_000);
      assert.equal(b.logged('leading: promoting from now on').length, 0, 'only one leader');

      let h2 = '';
      let rev2 = '';
      let killedAt = 0;
      const history = new StatusHistory(ns, 'shop');
      // Revision 2 cannot become healthy in DR until released, so the leader is certainly mid-promotion when killed.
      const release = await holdDrScheduling();
      try {
        await applyPrimary(selected(rolloutApp(ns, 'shop', 'registry.example/shop:2')));
        h2 = await waitComplete('Rollout', ns, 'shop', 'registry.example/shop:2');
        rev2 = (await readLive<{ metadata: { annotations: Record<string, string> } }>('primary', 'argoproj.io/v1alpha1', 'Rollout', ns, 'shop')).metadata.annotations['rollout.argoproj.io/revision']!;
        // Mid-promotion: the leader has written `applying` for revision 2 to DR and waits for health.
        await until('the leader applying revision 2', () => history.records.some((r) => r.revision === rev2 && r.state === 'applying'), 60_000, 20);
        killedAt = Date.now();
        a.kill('SIGKILL');
        await a.exited;
      } finally {
        await release();
      }
      const lost = history.last!;
      assert.notEqual(lost.state, 'completed', 'killed before completion');

      await until('replica-b takes over', () => b.logged('leading: promoting from now on').length > 0, 60_000, 50);
      const takeover = (b.logged('leading: promoting from now on')[0]!.at as number) - killedAt;
      await until('revision 2 completed in DR', () => drCompleted(`${ns}/shop`, h2), 120_000);
      const total = Date.now() - killedAt;
      console.log(`      leader SIGKILLed in state ${lost.state} (sequence ${lost.sequence}); replica-b took over after ${(takeover / 1000).toFixed(1)} s (goal < 20 s); revision 2 completed ${(total / 1000).toFixed(1)} s after the kill`);

      const lease = await kubeConfig('primary').makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rollout-relay', namespace: leaseNs });
      assert.equal(lease.spec?.holderIdentity, b.identity);
      // Completes once: one transition into `completed`, then no more writes to status or DR objects.
      const status = (await drStatus(`${ns}/shop`))!;
      const versions = await drVersions(ns, 'shop');
      await new Promise((r) => setTimeout(r, 5000));
      await history.stop();
      assert.equal(history.completions(rev2), 1, history.records.map((r) => `${r.sequence}:${r.state}`).join(' → '));
      assert.equal((await drStatus(`${ns}/shop`))!.updateCount, status.updateCount, 'no status update after completion');
      assert.deepEqual(await drVersions(ns, 'shop'), versions, 'DR objects untouched after completion');
      assert.equal(b.logged('promoting').filter((l) => l.revision === rev2).length, 1, 'replica-b ran revision 2 once');

      // Graceful shutdown releases the Lease at once.
      b.kill('SIGTERM');
      assert.equal(await b.exited, 0);
      const released = await kubeConfig('primary').makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rollout-relay', namespace: leaseNs });
      assert.equal(released.spec?.holderIdentity ?? '', '', 'Lease released on SIGTERM');
    } finally {
      for (const p of procs) p.kill('SIGKILL');
    }
  });

  it('graceful shutdown mid-promotion → the promotion is interrupted: no outcome recorded in primary, DR\'s status left for the next leader', async () => {
    const ns = await freshNamespace('rr-shutdown', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    const application = `${ns}/cart`;
    const ctl = await InProcessController.start(setup);
    let release: (() => Promise<void>) | undefined;
    try {
      await applyPrimary(selected(rolloutApp(ns, 'cart', 'registry.example/cart:1')));
      const h1 = await waitComplete('Rollout', ns, 'cart', 'registry.example/cart:1');
      await until('revision 1 in DR', () => drCompleted(application, h1), 90_000);
      // The outcome reaches primary's record just after DR's status says completed.
      const record = new SourceRecord(kubeConfig('primary'), application);
      const before = await until('revision 1 recorded in primary', async () => {
        const targets = (await record.read())?.record.targets ?? {};
        return Object.values(targets).some((t) => t.state === 'completed') && targets;
      });

      // Revision 2 cannot become healthy in DR while scheduling is held: the stop lands mid-promotion.
      const history = new StatusHistory(ns, 'cart');
      release = await holdDrScheduling();
      await applyPrimary(selected(rolloutApp(ns, 'cart', 'registry.example/cart:2')));
      const h2 = await waitComplete('Rollout', ns, 'cart', 'registry.example/cart:2');
      await until('DR applying revision 2', () => history.records.some((r) => r.state === 'applying' && r.sequence > 1), 60_000, 20);
      await ctl.stop(); // 2 s grace, then the running promotion is aborted
      await history.stop();

      assert.ok(ctl.logged('target interrupted; no outcome recorded, the next leader resumes it from DR status', (l) => l.application === application).length > 0, 'the target was interrupted');
      assert.ok(ctl.logged('promotion interrupted (leadership lost or shutting down); the next leader resumes it from DR status').length > 0, 'the controller saw an interruption');
      assert.equal(ctl.logged('target finished', (l) => l.application === application && l.state === 'failed').length, 0, 'no failed outcome');
      // Primary's record still holds the last real outcome (revision 1), not a made-up failure of revision 2.
      const after = (await record.read())!.record.targets;
      assert.deepEqual(after, before);
      assert.notEqual((await drStatus(application))!.state, 'failed');

      // The abandoned apply in this process finishes once DR can schedule again (a stopped process would
      // leave `applying`, which the next leader resumes); wait for it so nothing runs on after the test.
      await release();
      release = undefined;
      await until('revision 2 in DR', () => drCompleted(application, h2), 120_000);
    } finally {
      await release?.();
      await ctl.stop();
    }
  });

  it('primary\'s kube-apiserver restarts while the controller watches → the next rollout is still promoted once', async () => {
    const ns = await freshNamespace('rr-apirestart', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    const ctl = await InProcessController.start(setup);
    try {
      await applyPrimary(selected(rolloutApp(ns, 'feed', 'registry.example/feed:1')));
      const h1 = await waitComplete('Rollout', ns, 'feed', 'registry.example/feed:1');
      await until('revision 1 in DR', () => drCompleted(`${ns}/feed`, h1));

      const t0 = Date.now();
      await restartComponent({ dir: sandbox().dir, context: 'primary', component: 'kube-apiserver', downMs: 1000 });
      // The restart recorded the new pid on disk; later tests compare the run's sandbox state against it.
      setSandbox(readState(sandbox().dir) ?? sandbox());
      // Back = ready again, with the Rollout API (CRD paths are installed last) answering.
      await until('primary API server back', async () => objects('primary').listRaw('argoproj.io/v1alpha1', 'Rollout', ns).then(() => true, () => false), 90_000, 250);
      console.log(`      primary kube-apiserver down and back in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await until('the controller noticed its watches broke', () => ctl.logged('watch failed; retrying').length > 0, 30_000);

      const history = new StatusHistory(ns, 'feed');
      await applyPrimary(selected(rolloutApp(ns, 'feed', 'registry.example/feed:2')));
      const h2 = await waitComplete('Rollout', ns, 'feed', 'registry.example/feed:2');
      await until('revision 2 in DR', () => drCompleted(`${ns}/feed`, h2), 120_000);
      await new Promise((r) => setTimeout(r, 3000));
      await history.stop();
      const rev2 = history.last!.revision;
      assert.equal(history.completions(rev2), 1);
      assert.equal(ctl.logged('promoting', (l) => l.podTemplateHash === h2).length, 1, `promoted once: ${JSON.stringify(ctl.lines.filter((l) => l.podTemplateHash === h2 || /fail|error/i.test(String(l.msg))).slice(0, 12))}`);
      assert.equal((await fetch(`${ctl.url}/readyz`)).status, 200, 'ready again');
    } finally {
      await ctl.stop();
    }
  });

  it('the real Argo Rollouts notifications engine posts on-rollout-completed to /api/v1/notify and the controller promotes; wrong tokens get 401/403', async () => {
    const ns = await freshNamespace('rr-notify', ['primary']);
    cleanupDrNamespace(ns);
    const setup = new ControllerSetup({ namespaces: [ns] });
    const ctl = await InProcessController.start(setup);
    const core = kubeConfig('primary').makeApiClient(CoreV1Api);
    const cmName = 'argo-rollouts-notification-configmap';
    const secretName = 'argo-rollouts-notification-secret';
    try {
      // Argo Rollouts reads these two objects in its own namespace: a webhook service pointing at the
      // controller with the token from the Secret, a template with the hint body, and the trigger.
      await core.createNamespacedSecret({ namespace: 'argo-rollouts', body: { metadata: { name: secretName }, stringData: { 'rollout-relay-token': setup.token } } });
      await core.createNamespacedConfigMap({
        namespace: 'argo-rollouts',
        body: {
          metadata: { name: cmName },
          data: {
            'service.webhook.rollout-relay': [
              `url: ${ctl.url}/api/v1/notify`,
              'headers:',
              '- name: Authorization',
              '  value: Bearer $rollout-relay-token',
              '- name: Content-Type',
              '  value: application/json',
            ].join('\n'),
            'template.rollout-relay-hint': [
              'webhook:',
              '  rollout-relay:',
              '    method: POST',
              '    body: |',
              '      {"namespace": "{{.rollout.metadata.namespace}}", "name": "{{.rollout.metadata.name}}"}',
            ].join('\n'),
            'trigger.on-rollout-completed': '- send: [rollout-relay-hint]',
          },
        },
      });
      const objs = selected(rolloutApp(ns, 'promo', 'registry.example/promo:1'));
      const ro = objs.find((o) => o.kind === 'Rollout')!;
      ro.metadata!.annotations = { 'notifications.argoproj.io/subscribe.on-rollout-completed.rollout-relay': '' };
      await applyPrimary(objs);
      const hash = await waitComplete('Rollout', ns, 'promo', 'registry.example/promo:1');
      await until('Argo Rollouts posted the hint', () => ctl.logged('hint', (l) => l.reason === 'notify' && l.workload === `${ns}/promo`).length > 0, 60_000);
      await until('DR completed', () => drCompleted(`${ns}/promo`, hash));

      assert.equal(await post(`${ctl.url}/api/v1/notify`, { namespace: ns, name: 'promo' }), 401);
      assert.equal(await post(`${ctl.url}/api/v1/notify`, { namespace: ns, name: 'promo' }, 'not-the-token-0123456789'), 403);
    } finally {
      await ctl.stop();
      await core.deleteNamespacedConfigMap({ name: cmName, namespace: 'argo-rollouts' }).catch(() => undefined);
      await core.deleteNamespacedSecret({ name: secretName, namespace: 'argo-rollouts' }).catch(() => undefined);
    }
  });
});
