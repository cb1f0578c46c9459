import assert from 'node:assert/strict';
import { renderPlan } from '../../../src/drill/plan.js';
import { parseScenario } from '../../../src/drill/scenario.js';

const ctx = { sourceCluster: 'shanghai', targets: ['shenzhen'], hooks: ['smoke'], promotionTimeoutMs: 100_000 };
const base = { apiVersion: 'rollout-relay.io/v1', kind: 'DrillScenario', config: 'relay.yaml', applications: ['shop/checkout', 'shop/cart'] };

describe('drill plan', () => {
  it('lists config, applications, SLA and objectives, and every step in order with the cut and its undo', () => {
    const s = parseScenario({ ...base, cut: { type: 'sandbox', dir: '.sandbox-test' }, objectives: { rto: '30s', rpo: 0 }, schedule: '@daily' }, '/drills/weekly.yaml');
    const plan = renderPlan(s, ctx);
    assert.match(plan, /^drill "weekly" \(\/drills\/weekly\.yaml\)$/m);
    assert.match(plan, /config: +\/drills\/relay\.yaml \(primary shanghai; DR shenzhen\)/);
    assert.match(plan, /applications: shop\/checkout, shop\/cart/);
    assert.match(plan, /SLA: +100 s from the cut to DR verified; objectives RTO ≤ 30 s, RPO ≤ 0 release\(s\)/);
    assert.match(plan, /schedule: +@daily/);
    const steps = plan.split('\n').filter((l) => /^ {4}\d\. /.test(l));
    assert.deepEqual(steps.map((l) => l.trim().split(':')[0]), ['1. promote', '2. cut-primary', '3. verify-dr', '4. failback']);
    assert.match(steps[1]!, /stop the kube-apiserver process of sandbox context "primary" \(\/drills\/\.sandbox-test\); undo: start it again/);
    assert.match(steps[2]!, /every 250 ms .*post-hooks smoke/);
    assert.match(plan, /never deletes or prunes anything in primary/);
  });

  it('shows command cuts as argv (quoted where needed) and scale-to-zero with its exact undo', () => {
    const cmd = parseScenario({ ...base, cut: { type: 'command', run: ['/opt/cut', 'zone a'], undo: '/opt/uncut zone' } }, '/d/s.yaml');
    assert.match(renderPlan(cmd, ctx), /run \/opt\/cut "zone a" \(no shell, timeout 60 s\); undo: run \/opt\/uncut zone/);
    const scale = parseScenario({ ...base, cut: { type: 'scale-to-zero' } }, '/d/s.yaml');
    assert.match(renderPlan(scale, ctx), /scale each application's workload in primary \(shanghai\) to 0 replicas; undo: restore the exact replica count/);
  });

  it('shows a cordon cut with its selector, the pods it deletes and its exact undo', () => {
    const plan = renderPlan(parseScenario({ ...base, cut: { type: 'cordon', nodeSelector: 'topology.kubernetes.io/zone=shanghai-a' } }, '/d/s.yaml'), ctx);
    assert.match(plan, /cordon primary's \(shanghai\) nodes matching "topology\.kubernetes\.io\/zone=shanghai-a" that are schedulable \(each marked with the annotation rollout-relay\.io\/drill-cordoned\), then delete the applications' pods on the matching nodes/);
    assert.match(plan, /undo: uncordon exactly the nodes the drill cordoned and wait for the workloads to be complete/);
    assert.match(plan, /deletes nothing in primary but the applications' pods on the matching nodes/);
    assert.doesNotMatch(plan, /never deletes/);
  });

  it('says the cut is undone also when the scenario has no failback step', () => {
    const s = parseScenario({ ...base, cut: { type: 'scale-to-zero' }, steps: ['cut-primary', 'verify-dr'] }, '/d/s.yaml');
    const plan = renderPlan(s, ctx);
    assert.match(plan, /then: undo the cut \(always, also without a failback step\)/);
    assert.doesNotMatch(plan, /promote:/);
  });
});
