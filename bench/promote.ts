/**
 * `npm run bench -- promote [--sandbox DIR] [--rounds 20] [--apps 50] [--limit-seconds 300] [--only 1|2]`
 *
 * The controller on the real sandbox (in this process, the real pipeline):
 * 1. A 20-object application updated `--rounds` times: detection → `completed` per promotion,
 *    p50/p99, with DR's own readiness wait (the Rollout becoming healthy there) reported apart and
 *    excluded. In the same run the obvious approach for the same objects: `kubectl get -o json`
 *    from primary + `kubectl apply --server-side` to DR (the sandbox's kubectl), and the ratio.
 * 2. `--apps` applications whose rollouts complete at once: time until all are `completed` in DR.
 * Printed, not asserted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { sandboxUp } from '../src/sandbox/index.js';
import { serverSideApply } from '../src/sandbox/cluster.js';
import { generateSigningKeyPair, privateKeyPem, publicKeyPem } from '../src/signing/index.js';
import { loadRelayConfig } from '../src/config/load.js';
import { startController, type RunningController } from '../src/controller/run.js';
import { StatusWriter } from '../src/status/writer.js';
import { UntypedObjectApi } from '../src/cluster/untyped-object-api.js';
import { judgeCompletion } from '../src/promote/completion.js';
import { arg, median } from './args.js';

const run = promisify(execFile);
const SELECTOR = 'rollout-relay.io/promote';

interface LogLine {
  msg: string;
  time: number;
  [k: string]: unknown;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** An application of exactly `total` objects: Namespace, Rollout, Service, then ConfigMaps, ServiceAccounts and Roles. */
function application(ns: string, app: string, image: string, total: number, withNamespace = true): KubernetesObject[] {
  const labels = { 'app.kubernetes.io/instance': app };
  const objs: KubernetesObject[] = [];
  if (withNamespace) objs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  objs.push({
    apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: app, namespace: ns, labels: { ...labels, [SELECTOR]: 'true' } },
    spec: {
      replicas: 1, selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: { containers: [{ name: app, image }] } },
      strategy: { canary: { steps: [] } },
    },
  } as KubernetesObject);
  objs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: app, namespace: ns, labels }, spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] } } as KubernetesObject);
  for (let i = 0; objs.length < total; i++) {
    const name = `${app}-${i}`;
    if (i % 3 === 0) objs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data: { 'app.properties': `index=${i}\n`.repeat(20) } } as KubernetesObject);
    else if (i % 3 === 1) objs.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } });
    else objs.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns, labels }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] } as KubernetesObject);
  }
  return objs;
}

function writeConfig(dir: string, kubeconfig: string, namespaces: string[]): string {
  const keys = generateSigningKeyPair('ecdsa-p256');
  writeFileSync(join(dir, 'release.key'), privateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(join(dir, 'release.pub'), publicKeyPem(keys.publicKey));
  writeFileSync(join(dir, 'trust-policy.yaml'), stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'bench', publicKey: 'release.pub' }] }));
  const path = join(dir, 'relay.yaml');
  writeFileSync(path, stringify({
    apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig',
    source: { cluster: 'shanghai', context: 'primary', kubeconfig },
    watch: { namespaces },
    signing: { keys: ['release.key'] }, trustPolicy: 'trust-policy.yaml',
    targets: [{ name: 'shenzhen', context: 'dr', kubeconfig }],
  }));
  return path;
}

async function withController<T>(configPath: string, fn: (c: RunningController, lines: LogLine[]) => Promise<T>): Promise<T> {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const c = await startController(loadRelayConfig(configPath), { log: pino({ level: 'info', base: {} }, sink), tuning: { concurrency: 8 } });
  try {
    return await fn(c, lines);
  } finally {
    await c.stop();
  }
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function benchPromote(args: string[]): Promise<number> {
  const rounds = Number(arg(args, '--rounds', '20'));
  const apps = Number(arg(args, '--apps', '50'));
  const timeLimitMs = Number(arg(args, '--limit-seconds', '300')) * 1000;
  const only = arg(args, '--only', '');
  const state = await sandboxUp({ dir: arg(args, '--sandbox', '.sandbox') });
  const kc = (context: string) => { const k = new KubeConfig(); k.loadFromFile(state.kubeconfig); k.setCurrentContext(context); return k; };
  const primary = kc('primary');
  const dr = kc('dr');
  const dir = mkdtempSync(join(tmpdir(), 'rr-bench-promote-'));
  const tag = randomBytes(2).toString('hex');
  const created: string[] = [];
  try {
    // 1. One 20-object application, `rounds` image updates, one at a time.
    const ns = `bench-promote-${tag}`;
    if (only !== '2') {
    created.push(ns);
    const app = 'shop';
    await withController(writeConfig(dir, state.kubeconfig, [ns]), async (_c, lines) => {
      const status = new StatusWriter(dr, `${ns}/${app}`);
      const promoted = async () => {
        const s = await status.read().catch(() => undefined);
        return s?.record.state === 'completed' && lines.some((l) => l.msg === 'promotion finished' && l.application === `${ns}/${app}` && l.revision === s.record.revision) ? s.record : undefined;
      };
      await serverSideApply(primary, application(ns, app, 'registry.example/shop:0', 20));
      await until('first promotion', async () => !!(await promoted()), 120_000);
      const totals: number[] = [];
      const excl: number[] = [];
      const health: number[] = [];
      const byPhase: Record<string, number[]> = {};
      for (let i = 1; i <= rounds; i++) {
        const from = lines.length;
        await serverSideApply(primary, application(ns, app, `registry.example/shop:${i}`, 20, false));
        let done: LogLine | undefined;
        await until(`round ${i}`, () => !!(done = lines.slice(from).find((l) => l.msg === 'promotion finished' && typeof l.totalSeconds === 'number' && l.application === `${ns}/${app}`)), 120_000);
        const phases = done!.phaseDurations as Record<string, number>;
        for (const [k, v] of Object.entries(phases)) (byPhase[k] ??= []).push(v);
        const total = (done!.totalSeconds as number) * 1000;
        totals.push(total);
        health.push(phases.health ?? 0);
        excl.push(total - (phases.health ?? 0));
      }
      console.log(`\n1. ${rounds} promotions of a 20-object application (controller in this process, real pipeline, sandbox on this machine)`);
      console.log(`   detection → completed, excluding DR readiness: p50 ${(pct(excl, 50) / 1000).toFixed(2)} s, p99 ${(pct(excl, 99) / 1000).toFixed(2)} s (goals p50 < 1 s, p99 < 3 s)`);
      console.log(`   DR readiness wait (Rollout healthy in DR), reported apart: p50 ${(pct(health, 50) / 1000).toFixed(2)} s, p99 ${(pct(health, 99) / 1000).toFixed(2)} s`);
      console.log(`   median per phase (ms): ${Object.entries(byPhase).map(([k, v]) => `${k} ${median(v)}`).join(', ')} (health is inside apply)`);
      console.log(`   detection → completed including it: p50 ${(pct(totals, 50) / 1000).toFixed(2)} s, p99 ${(pct(totals, 99) / 1000).toFixed(2)} s`);

      // The obvious approach on the same objects, into a namespace of its own in DR.
      const refNs = `bench-kubectl-${tag}`;
      created.push(refNs);
      await serverSideApply(dr, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: refNs } }]);
      const kubectlMs: number[] = [];
      for (let i = 0; i < Math.min(rounds, 10); i++) {
        // Same objects, other namespace in DR: rewrite the namespace on the way (in the strip step).
        kubectlMs.push(await kubectlPromoteTo(state.binaries.kubectl, state.kubeconfig, ns, refNs, app, dir));
      }
      const k50 = median(kubectlMs);
      console.log(`   reference: kubectl get -o json (primary) + kubectl apply --server-side (DR), no signing or verification: median ${(k50 / 1000).toFixed(2)} s over ${kubectlMs.length} runs`);
      console.log(`   ratio rollout-relay p50 (excl. readiness) / kubectl: ${(pct(excl, 50) / k50).toFixed(2)}`);
    });
    }
    if (only === '1') return 0;

    // 2. `apps` applications, complete in primary and behind in DR, all detected at once (the
    // controller's start-up catch-up: first promotions, namespaces created in DR from the bundles).
    const nsMany = Array.from({ length: Math.ceil(apps / 10) }, (_, i) => `bench-many-${tag}-${i}`);
    created.push(...nsMany);
    const names = Array.from({ length: apps }, (_, i) => ({ ns: nsMany[Math.floor(i / 10)]!, app: `app-${i}` }));
    await serverSideApply(primary, names.flatMap(({ ns: n, app: a }, i) => application(n, a, 'registry.example/many:1', 5, i % 10 === 0)));
    await until(`${apps} rollouts complete in primary`, async () => {
      const list = await Promise.all(nsMany.map((n) => UntypedObjectApi.forKubeConfig(primary).listRaw('argoproj.io/v1alpha1', 'Rollout', n)));
      return list.flatMap((l) => l.items).filter((r) => judgeCompletion(r as never).complete).length === apps;
    }, 600_000);
    await withController(writeConfig(dir, state.kubeconfig, nsMany), async (_c, lines) => {
      const t0 = Date.now();
      let done = 0;
      await until(`${apps} applications completed in DR`, async () => {
        const st = await Promise.all(names.map(async ({ ns: n, app: a }) => (await new StatusWriter(dr, `${n}/${a}`).read().catch(() => undefined))?.record));
        done = st.filter((s) => s?.state === 'completed').length;
        return done === apps || Date.now() - t0 > timeLimitMs;
      }, timeLimitMs + 60_000);
      const tDone = Date.now();
      const detections = lines.filter((l) => l.msg === 'promoting').map((l) => l.detectedAt as number);
      const firstDetect = detections.length ? Math.min(...detections) : t0;
      console.log(`\n2. ${apps} applications (5 objects each, first promotion: DR empty) detected complete at once by a starting controller`);
      const outcomes = new Map<string, number>();
      for (const l of lines) {
        if (l.msg === 'promotion finished' && Array.isArray(l.targets)) for (const t of l.targets as { state: string; code?: string }[]) outcomes.set(`${t.state}${t.code ? ` ${t.code}` : ''}`, (outcomes.get(`${t.state}${t.code ? ` ${t.code}` : ''}`) ?? 0) + 1);
        if (l.msg === 'promotion failed') outcomes.set(`error ${String(l.code)}`, (outcomes.get(`error ${String(l.code)}`) ?? 0) + 1);
      }
      console.log(`   promotion outcomes: ${[...outcomes].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none finished'}`);
      console.log(`   first detection → ${done}/${apps} completed in DR: ${((tDone - firstDetect) / 1000).toFixed(1)} s (goal: all within 100 s)${done < apps ? ` — stopped waiting after ${timeLimitMs / 1000} s` : ''}`);
    });
    return 0;
  } finally {
    await Promise.all(created.flatMap((n) => [primary, dr].map((k) => k.makeApiClient(CoreV1Api).deleteNamespace({ name: n }).catch(() => undefined))));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kubectlPromote into another DR namespace (so the reference never touches what rollout-relay manages). */
async function kubectlPromoteTo(kubectl: string, kubeconfig: string, ns: string, toNs: string, app: string, dir: string): Promise<number> {
  const t = performance.now();
  const { stdout } = await run(kubectl, ['--kubeconfig', kubeconfig, '--context', 'primary', '-n', ns, 'get', 'rollouts.argoproj.io,services,configmaps,serviceaccounts,roles', '-l', `app.kubernetes.io/instance=${app}`, '-o', 'json'], { maxBuffer: 64 << 20 });
  const list = JSON.parse(stdout) as { items: (KubernetesObject & { status?: unknown; spec?: Record<string, unknown> })[] };
  for (const o of list.items) {
    delete o.status;
    const meta = o.metadata as Record<string, unknown>;
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation']) delete meta[k];
    meta.namespace = toNs;
    if (o.kind === 'Service' && o.spec) { delete o.spec.clusterIP; delete o.spec.clusterIPs; }
  }
  const file = join(dir, `kubectl-${randomBytes(3).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(list));
  await run(kubectl, ['--kubeconfig', kubeconfig, '--context', 'dr', 'apply', '--server-side', '--force-conflicts', '--field-manager', 'kubectl-bench', '-f', file], { maxBuffer: 64 << 20 });
  return performance.now() - t;
}

