import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../src/sandbox/http.js';
import { loadRelayConfig } from '../../../src/config/load.js';
import { CordonCut, recoverCordonCut } from '../../../src/drill/cut-cordon.js';
import { CORDON_ANNOTATION, CUT_LABEL, REPLICAS_ANNOTATION } from '../../../src/drill/cut-marker.js';
import { recoverScaleToZero, ScaleToZeroCut } from '../../../src/drill/cuts.js';
import { recoverLeftovers } from '../../../src/drill/recover.js';
import { workloadPods } from '../../../src/drill/primary-workloads.js';
import { createProgress } from '../../../src/drill/progress.js';
import { DrillRunner } from '../../../src/drill/runner.js';
import { loadScenario } from '../../../src/drill/scenario.js';
import { RelayError } from '../../../src/errors.js';
import { kubeConfig } from '../support/sandbox.js';
import { closedPort, objects, readLive } from '../promote/support.js';
import { DrillSetup, runDrill, runRecover } from './support.js';

interface Node {
  metadata: { name: string; uid: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean };
}
interface Rollout {
  metadata: { uid: string; annotations: Record<string, string>; labels?: Record<string, string> };
  spec: { replicas: number };
}

// The sandbox's primary has three kwok nodes, primary-node-0..2, labelled type=kwok and
// topology.kubernetes.io/zone=shanghai-a|b|c (src/sandbox/cluster.ts).
const ALL_NODES = 'type=kwok';
const nodes = async () => ((await objects('primary').getPath('/api/v1/nodes', { labelSelector: ALL_NODES })) as { items: Node[] }).items;
const node = async (name: string) => (await objects('primary').getPath(`/api/v1/nodes/${name}`)) as Node;
const setUnschedulable = (name: string, value: boolean | null) => objects('primary').patchRaw(`/api/v1/nodes/${name}`, 'application/merge-patch+json', { spec: { unschedulable: value } });

/**
 * The cordon cut on the real sandbox (a zone failure of primary: its nodes cordoned, the
 * application's pods on them deleted), its undo, and the recovery of Kubernetes cuts a drill killed
 * with SIGKILL left behind (cordon and scale-to-zero, recorded on the objects themselves) by the
 * next drill whatever its cut, and by `drill recover`.
 */
describe('drill: cordon cut, and Kubernetes cuts recovered after SIGKILL', function () {
  this.timeout(300_000);
  const drill = DrillSetup.forSuite({ namespacePrefix: 'rr-drill-cordon', app: 'web' });
  const reports = (name: string) => mkdtempSync(join(tmpdir(), `rr-drill-${name}-`));
  const ref = () => ({ kind: 'Rollout' as const, namespace: drill.ns, name: 'web' });
  const rollout = () => readLive<Rollout>('primary', 'argoproj.io/v1alpha1', 'Rollout', drill.ns, 'web');
  const complete = async () => (await drill.setup.promoter().readWorkload(ref())).complete;
  /** A config whose post-hook waits (90 s) on a closed port: a drill with it stays in verify-dr after the cut, until it is killed. */
  const heldConfig = async (name: string) => drill.setup.config(name, { hooks: [{ name: 'errors', type: 'prometheus', url: `http://127.0.0.1:${await closedPort()}`, query: 'vector(0)', pass: '< 1', timeout: '90s' }] });

  afterEach(async () => {
    // Whatever a test left, primary's nodes are schedulable and unmarked again for the next tests.
    await recoverCordonCut(kubeConfig('primary'), () => undefined);
    await recoverScaleToZero(kubeConfig('primary'), () => undefined, [{ namespace: drill.ns, name: 'web' }]);
    for (const n of await nodes()) if (n.spec?.unschedulable) await setUnschedulable(n.metadata.name, null);
    await waitFor('web complete in primary', complete, { timeoutMs: 180_000, intervalMs: 250 });
  });

  it('apply cordons the schedulable matching nodes (marked), never one already unschedulable, and the app\'s pods leave them; undo uncordons exactly those', async () => {
    // An operator's cordon, before the drill: the cut must leave this node exactly as it is.
    await setUnschedulable('primary-node-1', true);
    const before = await workloadPods(objects('primary'), ref());
    assert.equal(before.length, 2);
    const log: string[] = [];
    const cut = new CordonCut(ALL_NODES, { primary: kubeConfig('primary'), workloads: [ref()], log: (l) => log.push(l), workloadState: (r) => drill.setup.promoter().readWorkload(r) });
    try {
      await cut.apply();
      const during = await nodes();
      for (const n of during) assert.equal(n.spec?.unschedulable, true, n.metadata.name);
      assert.equal(JSON.parse(during.find((n) => n.metadata.name === 'primary-node-0')!.metadata.annotations![CORDON_ANNOTATION]!).pid, process.pid);
      assert.ok(during.find((n) => n.metadata.name === 'primary-node-2')!.metadata.annotations![CORDON_ANNOTATION]);
      assert.equal(during.find((n) => n.metadata.name === 'primary-node-1')!.metadata.annotations?.[CORDON_ANNOTATION], undefined);
      assert.ok(log.some((l) => l === 'node primary-node-1 in primary was already unschedulable: left as it is'), log.join('\n'));
      assert.ok(log.some((l) => l === 'cordoned 2 node(s) in primary matching type=kwok: primary-node-0, primary-node-2'), log.join('\n'));
      assert.ok(log.some((l) => /^deleted \d+ pod\(s\) of the applications on the matching nodes, all gone: /.test(l) && before.every((p) => l.includes(`/${p.name} (`))), log.join('\n'));
      // Every pod the app had is gone; the replacements have nowhere to run: primary serves nothing of it.
      const pods = await workloadPods(objects('primary'), ref());
      const old = new Set(before.map((p) => p.uid));
      assert.deepEqual(pods.filter((p) => old.has(p.uid)), []);
      assert.deepEqual(pods.filter((p) => p.nodeName !== ''), []);
      await waitFor('web not complete in primary (no pod of it runs)', async () => !(await complete()), { timeoutMs: 60_000, intervalMs: 250 });
    } finally {
      await cut.undo();
    }
    assert.equal(await complete(), true);
    const after = await nodes();
    for (const n of after) assert.equal(n.metadata.annotations?.[CORDON_ANNOTATION], undefined, n.metadata.name);
    assert.deepEqual(after.filter((n) => n.spec?.unschedulable).map((n) => n.metadata.name), ['primary-node-1']);
    await cut.undo(); // idempotent
    assert.equal((await node('primary-node-1')).spec?.unschedulable, true);
  });

  it('refuses a selector that matches no node (NO_MATCHING_NODES), before anything changes', async () => {
    const cut = new CordonCut('topology.kubernetes.io/zone=atlantis', { primary: kubeConfig('primary'), workloads: [ref()], log: () => undefined, workloadState: (r) => drill.setup.promoter().readWorkload(r) });
    await assert.rejects(cut.check(), (e: unknown) => e instanceof RelayError && e.code === 'NO_MATCHING_NODES' && /matches no node of primary; check the labels \(kubectl get nodes -l 'topology\.kubernetes\.io\/zone=atlantis'/.test(e.message));
    const r = await runDrill(drill.setup.scenario('no-nodes', { applications: [`${drill.ns}/web`], cut: { type: 'cordon', nodeSelector: 'topology.kubernetes.io/zone=atlantis' } }), reports('no-nodes'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error NO_MATCHING_NODES: cut\.nodeSelector "topology\.kubernetes\.io\/zone=atlantis" matches no node of primary/);
    assert.equal(r.report, undefined);
  });

  it('a drill with a zone cut: DR verified (RTO measured), then the nodes are schedulable again and the Rollout complete at the same revision, nothing but pods deleted', async () => {
    const before = await rollout();
    const nodesBefore = await nodes();
    const r = await runDrill(drill.setup.scenario('zone', { applications: [`${drill.ns}/web`], cut: { type: 'cordon', nodeSelector: 'topology.kubernetes.io/zone in (shanghai-a, shanghai-b)' }, objectives: { rto: '60s', rpo: 0 } }), reports('zone'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.report!.verdict, 'pass', r.report!.reason);
    assert.equal(r.report!.cut.type, 'cordon');
    assert.ok(r.report!.rtoSeconds !== null && r.report!.rtoSeconds < r.report!.sla.seconds, `RTO ${r.report!.rtoSeconds}`);
    assert.deepEqual(r.report!.steps.map((s) => [s.name, s.result]), [['promote', 'pass'], ['cut-primary', 'pass'], ['verify-dr', 'pass'], ['failback', 'pass']]);
    assert.match(r.stderr, /cordoned 2 node\(s\) in primary matching topology\.kubernetes\.io\/zone in \(shanghai-a, shanghai-b\): primary-node-0, primary-node-1/);
    assert.match(r.stderr, /deleted \d pod\(s\) of the applications on the matching nodes/);
    assert.match(r.stderr, /uncordoned node primary-node-0 in primary/);
    assert.match(r.stderr, /uncordoned node primary-node-1 in primary/);
    const after = await rollout();
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.annotations['rollout.argoproj.io/revision'], before.metadata.annotations['rollout.argoproj.io/revision']);
    assert.equal(await complete(), true);
    const nodesAfter = await nodes();
    assert.deepEqual(nodesAfter.map((n) => [n.metadata.name, n.metadata.uid, n.spec?.unschedulable ?? false, n.metadata.annotations?.[CORDON_ANNOTATION]]), nodesBefore.map((n) => [n.metadata.name, n.metadata.uid, false, undefined]));
    // Nothing else of the application was deleted in primary.
    for (const [av, kind, name] of [['v1', 'ConfigMap', 'web-config'], ['v1', 'Service', 'web']] as const) await readLive('primary', av, kind, drill.ns, name);
  });

  /** Runs a drill with `cut` held in verify-dr, and kills it with SIGKILL once `cutDone` shows on its stderr: its cut is left behind. */
  async function killedDrill(name: string, cut: Record<string, unknown>, cutDone: RegExp): Promise<void> {
    let killed = false;
    const r = await runDrill(drill.setup.scenario(name, { applications: [`${drill.ns}/web`], cut }, await heldConfig(`relay-${name}.yaml`)), reports(name), {
      onStderr: (text, child) => {
        if (killed || !cutDone.test(text)) return;
        killed = true;
        child.kill('SIGKILL');
      },
    });
    assert.ok(killed, `the drill never made its cut:\n${r.stderr}`);
    assert.equal(r.report, undefined);
  }
  const killedCordon = () => killedDrill('killed-cordon', { type: 'cordon', nodeSelector: 'topology.kubernetes.io/zone=shanghai-c' }, /cordoned 1 node\(s\) in primary/);

  it('a drill killed with SIGKILL mid-cordon leaves its node marked; the next drill, whatever its cut (here scale-to-zero), uncordons it first and passes', async () => {
    await killedCordon();
    // Nothing undid the cut: the node is still cordoned, and marked by the killed drill.
    const left = await node('primary-node-2');
    assert.equal(left.spec?.unschedulable, true);
    assert.ok(left.metadata.annotations?.[CORDON_ANNOTATION]);

    const next = await runDrill(drill.setup.scenario('after-kill-cordon', { applications: [`${drill.ns}/web`], cut: { type: 'scale-to-zero' } }), reports('after-kill-cordon'));
    assert.match(next.stderr, /uncordoning 1 node\(s\) an interrupted drill left cordoned in primary: primary-node-2/);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.report!.verdict, 'pass', next.report!.reason);
    assert.equal(next.report!.cut.type, 'scale-to-zero');
    const back = await node('primary-node-2');
    assert.equal(back.spec?.unschedulable ?? false, false);
    assert.equal(back.metadata.annotations?.[CORDON_ANNOTATION], undefined);
  });

  it('a drill killed with SIGKILL after scale-to-zero leaves the replicas on the Rollout; the next drill, whatever its cut (here cordon), restores exactly them first and passes', async () => {
    const before = await rollout();
    await killedDrill('killed-scale', { type: 'scale-to-zero' }, /scaled Rollout .*\/web in primary from 2 to 0 replicas/);
    const left = await rollout();
    assert.equal(left.spec.replicas, 0);
    assert.equal(JSON.parse(left.metadata.annotations[REPLICAS_ANNOTATION]!).replicas, 2);
    assert.equal(left.metadata.labels?.[CUT_LABEL], 'scale-to-zero');

    const next = await runDrill(drill.setup.scenario('after-kill-scale', { applications: [`${drill.ns}/web`], cut: { type: 'cordon', nodeSelector: 'topology.kubernetes.io/zone=shanghai-c' } }), reports('after-kill-scale'));
    assert.match(next.stderr, /restored Rollout .*\/web in primary to 2 replicas \(an interrupted drill scaled it to 0 at /);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.report!.verdict, 'pass', next.report!.reason);
    assert.equal(next.report!.cut.type, 'cordon');
    const after = await rollout();
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.annotations[REPLICAS_ANNOTATION], undefined);
    assert.equal(after.metadata.labels?.[CUT_LABEL], undefined);
    assert.equal(after.metadata.annotations['rollout.argoproj.io/revision'], before.metadata.annotations['rollout.argoproj.io/revision']);
  });

  it('a scale-to-zero recorded by an earlier version (annotation, no label) is found through the scenario\'s workloads and restored', async () => {
    const at = '2026-11-28T00:00:00.000Z';
    const record = JSON.stringify({ id: `other-host/4242/${at}`, host: 'other-host', pid: 4242, at, replicas: 2 });
    await objects('primary').patchRaw(`/apis/argoproj.io/v1alpha1/namespaces/${drill.ns}/rollouts/web`, 'application/merge-patch+json', { metadata: { annotations: { [REPLICAS_ANNOTATION]: record } }, spec: { replicas: 0 } });
    assert.deepEqual(await recoverScaleToZero(kubeConfig('primary'), () => undefined), [], 'without the label, the cluster-wide list does not find it');
    const lines: string[] = [];
    const recovery = await recoverLeftovers({ primary: kubeConfig('primary'), applications: [{ namespace: drill.ns, name: 'web' }], log: (l) => lines.push(l) });
    assert.deepEqual(recovery.workloads.map((w) => [w.ref.kind, w.ref.namespace, w.ref.name, w.replicas, w.at]), [['Rollout', drill.ns, 'web', 2, at]]);
    assert.ok(lines.some((l) => l.includes(`restored Rollout ${drill.ns}/web in primary to 2 replicas`)), lines.join('\n'));
    const after = await rollout();
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.annotations[REPLICAS_ANNOTATION], undefined);
  });

  it('drill recover: --dry-run lists what a killed drill left and changes nothing; then it uncordons, waits for the workload and says so; once more: nothing to recover', async () => {
    await killedCordon();
    const scenario = drill.setup.scenario('recover', { applications: [`${drill.ns}/web`], cut: { type: 'scale-to-zero' } });
    const look = await runRecover(scenario, ['--dry-run']);
    assert.equal(look.code, 0, look.stderr);
    assert.match(look.stdout, /^cordon +node primary-node-2 since \S+ by \S+\/\d+$/m);
    assert.match(look.stdout, /dry run: nothing was changed; run again without --dry-run to undo these/);
    assert.equal((await node('primary-node-2')).spec?.unschedulable, true);
    const json = await runRecover(scenario, ['--dry-run', '--json']);
    assert.deepEqual((JSON.parse(json.stdout) as { leftovers: { cut: string; what: string }[] }).leftovers.map((l) => [l.cut, l.what]), [['cordon', 'node primary-node-2']]);

    const r = await runRecover(scenario);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /uncordoned node primary-node-2 in primary \(cordoned by the drill at /);
    assert.equal(r.stdout, `recovered: uncordoned node(s) primary-node-2; Rollout ${drill.ns}/web complete in primary\n`);
    const back = await node('primary-node-2');
    assert.equal(back.spec?.unschedulable ?? false, false);
    assert.equal(back.metadata.annotations?.[CORDON_ANNOTATION], undefined);
    assert.equal(await complete(), true);

    const again = await runRecover(scenario, ['--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { recovered: false, sandbox: null, nodes: [], workloads: [], complete: [ref()] });
  });

  it('after a recovery, a workload that cannot come back (its pods can never be scheduled) refuses with DEADLINE_EXCEEDED naming what was undone and what is not back, not PROMOTION_IN_FLIGHT', async () => {
    // What a drill killed after its scale-to-zero cut leaves. This process made it, so for a drill run
    // in this process it counts as left behind (as for the next drill after a SIGKILL).
    await new ScaleToZeroCut(kubeConfig('primary'), [ref()], () => undefined).apply();
    await waitFor('web has no pod left in primary', async () => (await workloadPods(objects('primary'), ref())).length === 0, { timeoutMs: 60_000, intervalMs: 250 });
    // An operator cordons every node meanwhile (no drill mark): the restored replicas can never be scheduled.
    for (const n of await nodes()) await setUnschedulable(n.metadata.name, true);
    const scenario = loadScenario(drill.setup.scenario('not-back', { applications: [`${drill.ns}/web`], cut: { type: 'scale-to-zero' } }));
    const lines: string[] = [];
    const progress = createProgress({ slaMs: scenario.slaMs, steps: scenario.steps, tty: false, write: (l) => lines.push(l) });
    const runner = new DrillRunner({ scenario, config: loadRelayConfig(scenario.config), primary: kubeConfig('primary'), progress, recoveryWaitMs: 3_000 });
    try {
      await assert.rejects(runner.run(), (e: unknown) => {
        assert.ok(e instanceof RelayError, String(e));
        assert.equal(e.code, 'DEADLINE_EXCEEDED', e.message);
        assert.ok(e.message.startsWith(`undid what an interrupted drill left in primary (restored Rollout ${drill.ns}/web to 2 replicas), but this workload is not complete 3 s later: Rollout ${drill.ns}/web (`), e.message);
        assert.match(e.message, new RegExp(`check their pods and primary's nodes \\(kubectl get pods -n ${drill.ns} -o wide; kubectl get nodes\\), then run the drill again once they are complete; the drill did not start$`));
        assert.doesNotMatch(e.message, /rolling out|promotion follows/);
        return true;
      });
    } finally {
      progress.close();
    }
    assert.ok(lines.some((l) => /restored Rollout .*\/web in primary to 2 replicas \(an interrupted drill scaled it to 0 at /.test(l)), lines.join(''));
    // The replicas and the record are back to normal; the nodes are as the operator left them; no pod of web runs.
    const after = await rollout();
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.annotations[REPLICAS_ANNOTATION], undefined);
    assert.equal(after.metadata.labels?.[CUT_LABEL], undefined);
    for (const n of await nodes()) assert.equal(n.spec?.unschedulable, true, n.metadata.name);
    assert.deepEqual((await workloadPods(objects('primary'), ref())).filter((p) => p.nodeName !== ''), []);
  });
});
