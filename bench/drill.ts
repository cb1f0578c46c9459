/**
 * `npm run bench -- drill [--sandbox DIR] [--rounds 5]`
 *
 * The sandbox drill (promote, cut primary's kube-apiserver, verify DR, failback) run `--rounds`
 * times on one application whose last promotion completed: RTO and RPO per run, median and max;
 * then as many runs with a Job post-hook (a smoke Job in DR, completed by kwok), whose run is part
 * of the RTO.
 * Reference measured in the same run: one `kubectl get configmap -o json` of DR's status ConfigMap
 * (the least a person checking DR by hand does), so the RTO reads as a ratio too. Goal: RTO < 10 s,
 * RPO 0. Printed, not asserted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { loadRelayConfig } from '../src/config/load.js';
import { DrillRunner } from '../src/drill/runner.js';
import { parseScenario } from '../src/drill/scenario.js';
import type { DrillProgress } from '../src/drill/progress.js';
import { Promoter } from '../src/promote/pipeline.js';
import { judgeCompletion } from '../src/promote/completion.js';
import { UntypedObjectApi } from '../src/cluster/untyped-object-api.js';
import { serverSideApply } from '../src/sandbox/cluster.js';
import { sandboxUp } from '../src/sandbox/index.js';
import { generateSigningKeyPair, privateKeyPem, publicKeyPem } from '../src/signing/index.js';
import { arg, median } from './args.js';

const run = promisify(execFile);

const quiet: DrillProgress = { stepStarted: () => {}, stepFinished: () => {}, cutAt: () => {}, note: () => {}, close: () => {} };

export async function benchDrill(args: string[]): Promise<number> {
  const rounds = Number(arg(args, '--rounds', '5'));
  const state = await sandboxUp({ dir: arg(args, '--sandbox', '.sandbox') });
  const kc = (context: string) => {
    const k = new KubeConfig();
    k.loadFromFile(state.kubeconfig);
    k.setCurrentContext(context);
    return k;
  };
  const dir = mkdtempSync(join(tmpdir(), 'rr-bench-drill-'));
  const ns = `bench-drill-${randomBytes(3).toString('hex')}`;
  try {
    const keys = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(dir, 'release.key'), privateKeyPem(keys.privateKey), { mode: 0o600 });
    writeFileSync(join(dir, 'release.pub'), publicKeyPem(keys.publicKey));
    writeFileSync(join(dir, 'trust-policy.yaml'), stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'bench', publicKey: 'release.pub' }] }));
    writeFileSync(join(dir, 'relay.yaml'), stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig', source: { cluster: 'shanghai', context: 'primary', kubeconfig: state.kubeconfig },
      signing: { keys: ['release.key'] }, trustPolicy: 'trust-policy.yaml', targets: [{ name: 'shenzhen', context: 'dr', kubeconfig: state.kubeconfig }],
    }));
    const config = loadRelayConfig(join(dir, 'relay.yaml'));
    const primary = kc('primary');

    // One application, released and promoted once: its last promotion completed.
    await primary.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    await serverSideApply(primary, [{
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'checkout', namespace: ns, labels: { 'app.kubernetes.io/instance': 'checkout' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'checkout' } }, template: { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'checkout', image: 'registry.example/checkout:1' }] } }, strategy: { canary: { steps: [] } } },
    } as KubernetesObject]);
    const api = UntypedObjectApi.forKubeConfig(primary);
    for (const until = Date.now() + 120_000; ;) {
      const w = await api.getPath(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/checkout`);
      if (judgeCompletion(w as never).complete) break;
      if (Date.now() > until) throw new Error('the Rollout did not complete in primary');
      await new Promise((r) => setTimeout(r, 250));
    }
    const first = await new Promoter(config, { primary }).promote({ workload: { kind: 'Rollout', namespace: ns, name: 'checkout' } });
    if (first.targets[0]?.state !== 'completed') throw new Error(`first promotion: ${first.targets[0]?.message}`);

    writeFileSync(join(dir, 'smoke.yaml'), stringify({ apiVersion: 'batch/v1', kind: 'Job', spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'smoke', image: 'registry.example/smoke:1' }] } } } }));
    writeFileSync(join(dir, 'relay-hooks.yaml'), `${stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig', source: { cluster: 'shanghai', context: 'primary', kubeconfig: state.kubeconfig },
      signing: { keys: ['release.key'] }, trustPolicy: 'trust-policy.yaml', targets: [{ name: 'shenzhen', context: 'dr', kubeconfig: state.kubeconfig }],
      hooks: [{ name: 'smoke', type: 'job', template: 'smoke.yaml', timeout: '60s' }],
    })}`);
    const series = [
      { label: 'no post-hooks', config },
      { label: 'Job post-hook', config: loadRelayConfig(join(dir, 'relay-hooks.yaml')) },
    ];
    let ok = true;
    for (const { label, config: cfg } of series) {
      const scenario = parseScenario({
        apiVersion: 'rollout-relay.io/v1', kind: 'DrillScenario', name: 'bench', config: 'relay.yaml', applications: [`${ns}/checkout`],
        sla: '100s', objectives: { rto: '10s', rpo: 0 }, cut: { type: 'sandbox', dir: state.dir, context: 'primary' },
      }, join(dir, 'bench.yaml'));
      const rto: number[] = [];
      const rpo: number[] = [];
      const reference: number[] = [];
      const failback: number[] = [];
      console.log(`${label}:`);
      for (let i = 1; i <= rounds; i++) {
        const report = await new DrillRunner({ scenario, config: cfg, primary, progress: quiet }).run();
        const t = performance.now();
        await run(state.binaries.kubectl, ['--kubeconfig', state.kubeconfig, '--context', 'dr', '-n', ns, 'get', 'configmap', 'rollout-relay-status-checkout', '-o', 'json']);
        reference.push((performance.now() - t) / 1000);
        const fb = report.steps.find((s) => s.name === 'failback');
        console.log(`  run ${i}: ${report.verdict} RTO ${report.rtoSeconds?.toFixed(3) ?? '-'} s, RPO ${report.rpo?.releases ?? '-'} release(s) / ${report.rpo?.seconds.toFixed(1) ?? '-'} s, failback ${fb?.seconds.toFixed(1) ?? '-'} s${report.verdict === 'pass' ? '' : `: ${report.reason}`}`);
        if (report.rtoSeconds !== null) rto.push(report.rtoSeconds);
        if (report.rpo) rpo.push(report.rpo.releases);
        if (fb) failback.push(fb.seconds);
      }
      const ref = median(reference);
      console.log(`  ${label}, ${rounds} runs (${rto.length} with an RTO):`);
      console.log(`    RTO median ${median(rto).toFixed(3)} s, max ${Math.max(...rto).toFixed(3)} s (goal < 10 s)`);
      console.log(`    RPO median ${median(rpo)} release(s), max ${Math.max(...rpo)} (goal 0 when the last promotion completed)`);
      console.log(`    failback (primary's API server back, ready, DR re-verified) median ${median(failback).toFixed(1)} s, max ${Math.max(...failback).toFixed(1)} s`);
      console.log(`    reference: kubectl get of DR's status ConfigMap median ${ref.toFixed(3)} s; RTO / reference = ${(median(rto) / ref).toFixed(2)}`);
      ok &&= rto.length === rounds && Math.max(...rto) < 10 && Math.max(...rpo) === 0;
    }
    return ok ? 0 : 1;
  } finally {
    await kc('primary').makeApiClient(CoreV1Api).deleteNamespace({ name: ns }).catch(() => undefined);
    await kc('dr').makeApiClient(CoreV1Api).deleteNamespace({ name: ns }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
