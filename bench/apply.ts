/**
 * `npm run bench -- apply [--sandbox DIR] [--mix deployments|basic|both] [--namespaces 10] [--objects 300] [--rounds 3] [--cpu-prof FILE]`
 *
 * 300 objects across 10 new namespaces into the DR sandbox: rollout-relay (verify + preflight dry-run
 * of every object + ordered SSA + health + status + last-good copy) against the sandbox's real
 * `kubectl apply --server-side` on the same objects, in the same run, printed as a ratio, and our
 * process's CPU time per apply (process.cpuUsage(): every thread of this process, verify included).
 * Two object mixes: `deployments` (the issue's: 200 ConfigMaps, 50 Services, 50 Deployments that
 * must become available) and `basic` (ConfigMaps, Secrets, Services, ServiceAccounts, Roles).
 * Each tool gets its own fresh namespaces so both create the same number of objects.
 * kubectl returns once the API server has stored the objects; rollout-relay also waits until they are
 * healthy. For the `deployments` mix a second reference does the same work with kubectl:
 * `kubectl apply --server-side` then `kubectl wait --for=condition=Available` on its Deployments.
 * A floor reference (bare-apply.ts) does the least an all-or-nothing apply can: a bare HTTP/2 client dry-runs
 * and applies the same objects with no order, no status and no health wait.
 * `--cpu-prof FILE`: a CPU profile (main thread, .cpuprofile for Chrome DevTools) of round 1's first
 * apply only, and its top functions by self time printed.
 */
import { execFile } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { writeBundleFile, type KubeObject } from '../src/bundle/index.js';
import { generateSigningKeyPair, keySigner, publicKeyPem } from '../src/signing/index.js';
import { loadTrustPolicy } from '../src/policy/index.js';
import { signBundleFile } from '../src/verify/index.js';
import { applyBundleFile } from '../src/apply/index.js';
import { sandboxUp } from '../src/sandbox/index.js';
import { observeRequests, type ApiRequest } from '../src/cluster/api-transport.js';
import { arg, median } from './args.js';
import { bareApply } from './bare-apply.js';

const run = promisify(execFile);


export type Mix = 'basic' | 'deployments';

/** Marks one run's Deployments, so `kubectl wait` can select them across the run's namespaces. */
const BENCH_RUN_LABEL = 'rollout-relay.io/bench-run';

/** `total` objects over `nsCount` namespaces; `deployments`: 2/3 ConfigMaps, 1/6 Services, 1/6 Deployments, plus the Namespaces. */
export function benchObjects(prefix: string, nsCount: number, total: number, mix: Mix = 'basic'): KubeObject[] {
  return mix === 'deployments' ? deploymentMix(prefix, nsCount, total) : basicMix(prefix, nsCount, total);
}

function deploymentMix(prefix: string, nsCount: number, total: number): KubeObject[] {
  const out: KubeObject[] = [];
  for (let n = 0; n < nsCount; n++) out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${prefix}-${n}`, labels: { 'rollout-relay.io/bench': 'true' } } });
  for (let i = 0; i < total; i++) {
    const ns = `${prefix}-${i % nsCount}`;
    const name = `obj-${i}`;
    switch (i % 6) {
      case 0: {
        const labels = { app: name };
        out.push({
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels: { ...labels, [BENCH_RUN_LABEL]: prefix } },
          spec: {
            replicas: 1, selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 8080 }], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } },
          },
        });
        break;
      }
      case 1: out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: `obj-${i - 1}` }, ports: [{ port: 80, targetPort: 8080 }] } }); break;
      default: out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { 'app.properties': `index=${i}\n`.repeat(20) } });
    }
  }
  return out;
}

function basicMix(prefix: string, nsCount: number, total: number): KubeObject[] {
  const out: KubeObject[] = [];
  const perNs = Math.floor((total - nsCount) / nsCount);
  for (let n = 0; n < nsCount; n++) {
    const ns = `${prefix}-${n}`;
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'rollout-relay.io/bench': 'true' } } });
    for (let i = 0; i < perNs + (n < (total - nsCount) % nsCount ? 1 : 0); i++) {
      const name = `obj-${i}`;
      switch (i % 5) {
        case 0: out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { 'app.properties': `index=${i}\n`.repeat(20) } }); break;
        case 1: out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', stringData: { token: `bench-${i}` } }); break;
        case 2: out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } }); break;
        case 3: out.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } }); break;
        default: out.push({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] });
      }
    }
  }
  return out;
}

async function deleteNamespaces(kc: KubeConfig, prefix: string, nsCount: number): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  await Promise.all(Array.from({ length: nsCount }, (_, n) => api.deleteNamespace({ name: `${prefix}-${n}` }).catch(() => undefined)));
}

async function waitNamespacesGone(kc: KubeConfig, prefixes: string[]): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 600; i++) {
    const list = await api.listNamespace({ labelSelector: 'rollout-relay.io/bench=true' });
    if (!list.items.some((n) => prefixes.some((p) => n.metadata?.name?.startsWith(p)))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Round {
  kubectlMs: number;
  /** `kubectl wait --for=condition=Available` on the Deployments after kubectl's first apply (deployments mix only). */
  kubectlWaitMs: number;
  relayMs: number;
  /** The floor reference (bare-apply.ts): dry run and apply of the same objects by a bare HTTP/2 client. */
  bareMs: number;
  bareDryRunMs: number;
  bareApplyMs: number;
  kubectlAgainMs: number;
  relayAgainMs: number;
  /** Our process's CPU time (user + system, all threads) during the first apply and the re-apply. */
  relayCpuMs: number;
  relayAgainCpuMs: number;
  phases: Record<string, number>;
  /** Requests over UntypedObjectApi's transport, by kind of request, in the first apply and the re-apply. */
  requests: Record<string, number>;
  requestsAgain: Record<string, number>;
}

/** A request's kind for counting: method, dry run or not, list or single object. */
function requestKind(r: ApiRequest): string {
  const dry = /[?&]dryRun=All/.test(r.path) ? ' dry-run' : '';
  const base = r.path.split('?')[0]!;
  const what = r.method === 'GET' ? (/\/(api|apis\/[^/]+)\/v[^/]+$/.test(base) ? 'discovery' : /[?&]watch=/.test(r.path) ? 'watch' : base.split('/').length % 2 === 0 ? 'list' : 'get') : r.method.toLowerCase();
  return `${what}${dry}`;
}

/** One round: fresh namespaces for each tool, first apply and identical re-apply, order alternated. */
async function benchRound(state: Awaited<ReturnType<typeof sandboxUp>>, kc: KubeConfig, nsCount: number, total: number, round: number, mix: Mix, profilePath?: string): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), 'rr-bench-apply-'));
  const tag = randomBytes(3).toString('hex');
  const kPrefix = `bench-k-${tag}`;
  const rPrefix = `bench-r-${tag}`;
  const bPrefix = `bench-b-${tag}`;
  const kubectlFirst = round % 2 === 0;
  try {
    // kubectl: one multi-document file, server-side apply, its own field manager.
    const kObjects = benchObjects(kPrefix, nsCount, total, mix);
    const yamlPath = join(dir, 'objects.yaml');
    writeFileSync(yamlPath, kObjects.map((o) => stringify(o)).join('---\n'));
    // rollout-relay: the same objects (other namespaces) as a signed bundle, created and signed beforehand (primary side).
    const rObjects = benchObjects(rPrefix, nsCount, total, mix);
    const { privateKey, publicKey } = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(dir, 'release.pub'), publicKeyPem(publicKey));
    // The bundle spans several namespaces and creates them: the scope has to say so.
    writeFileSync(join(dir, 'policy.yaml'), `apiVersion: rollout-relay.io/v1\nkind: TrustPolicy\nscope: {namespaces: ["${rPrefix}-*"], clusterResources: [{group: "", kind: Namespace}]}\nkeys:\n  - name: bench\n    publicKey: release.pub\n`);
    const bundlePath = join(dir, 'bench.bundle.tar');
    await writeBundleFile(bundlePath, rObjects, { source: { cluster: 'shanghai', namespace: `${rPrefix}-0`, kind: 'Deployment', name: 'bench' }, sequence: 1 });
    await signBundleFile({ bundlePath, signers: [keySigner(privateKey)] });
    const policy = loadTrustPolicy(join(dir, 'policy.yaml'));

    const kubectl = async (): Promise<number> => {
      const t = performance.now();
      await run(state.binaries.kubectl, ['--kubeconfig', state.kubeconfig, '--context', 'dr', 'apply', '--server-side', '--field-manager', 'kubectl-bench', '-f', yamlPath], { maxBuffer: 64 << 20 });
      return performance.now() - t;
    };
    /** `kubectl wait` for kubectl's Deployments to be available (the deployments mix only; else 0). */
    const kubectlWait = async (): Promise<number> => {
      if (mix !== 'deployments') return 0;
      const t = performance.now();
      await run(state.binaries.kubectl, ['--kubeconfig', state.kubeconfig, '--context', 'dr', 'wait', '--for=condition=Available', 'deployment', '--all-namespaces', '-l', `${BENCH_RUN_LABEL}=${kPrefix}`, '--timeout=100s'], { maxBuffer: 64 << 20 });
      return performance.now() - t;
    };
    let profileNext = profilePath;
    const relay = async (): Promise<{ ms: number; cpuMs: number; requests: Record<string, number>; result: Awaited<ReturnType<typeof applyBundleFile>> }> => {
      const profiling = profileNext;
      profileNext = undefined;
      const session = profiling ? await startProfile() : undefined;
      const requests: Record<string, number> = {};
      const stop = observeRequests((r) => {
        const k = requestKind(r);
        requests[k] = (requests[k] ?? 0) + 1;
      });
      const cpu = process.cpuUsage();
      const t = performance.now();
      try {
        const result = await applyBundleFile({ bundlePath, policy, target: { name: 'shenzhen', kubeConfig: kc }, timeoutMs: 100_000 });
        const used = process.cpuUsage(cpu);
        const ms = performance.now() - t;
        if (session && profiling) await stopProfile(session, profiling);
        return { ms, cpuMs: (used.user + used.system) / 1000, requests, result };
      } finally {
        stop();
      }
    };
    let kubectlWaitMs = 0;
    /** Both tools once, in this round's order; `wait`: also time kubectl's wait after its apply (first apply only). */
    const both = async (wait: boolean): Promise<[number, Awaited<ReturnType<typeof relay>>]> => {
      const viaKubectl = async (): Promise<number> => {
        const k = await kubectl();
        if (wait) kubectlWaitMs = await kubectlWait();
        return k;
      };
      if (kubectlFirst) {
        const k = await viaKubectl();
        return [k, await relay()];
      }
      const r = await relay();
      return [await viaKubectl(), r];
    };
    // The floor reference (its own namespaces) runs after the two tools in even rounds, before them in odd ones.
    const bare = () => bareApply(kc, benchObjects(bPrefix, nsCount, total, mix));
    const bareBefore = kubectlFirst ? undefined : await bare();
    const [kubectlMs, first] = await both(true);
    const floor = bareBefore ?? await bare();
    if (first.result.report.applied.length !== rObjects.length) throw new Error(`rollout-relay applied ${first.result.report.applied.length} of ${rObjects.length}`);
    // Second identical apply: kubectl re-sends everything; rollout-relay re-verifies, preflights, no-ops.
    const [kubectlAgainMs, again] = await both(false);
    if (again.result.report.result !== 'unchanged') throw new Error(`identical re-apply reported ${again.result.report.result}`);
    return {
      kubectlMs, kubectlWaitMs, relayMs: first.ms, bareMs: floor.ms, bareDryRunMs: floor.dryRunMs, bareApplyMs: floor.applyMs, kubectlAgainMs, relayAgainMs: again.ms, relayCpuMs: first.cpuMs, relayAgainCpuMs: again.cpuMs,
      phases: first.result.report.phaseDurations, requests: first.requests, requestsAgain: again.requests,
    };
  } finally {
    await deleteNamespaces(kc, kPrefix, nsCount);
    await deleteNamespaces(kc, rPrefix, nsCount);
    await deleteNamespaces(kc, bPrefix, nsCount);
    // The namespace controller's clean-up competes for the same 2 cores: let it finish first.
    await waitNamespacesGone(kc, [kPrefix, rPrefix, bPrefix]);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return session;
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }

/** Writes the profile and prints its top functions by self time (and by package/file). */
async function stopProfile(session: Session, path: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop') as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number } };
  session.disconnect();
  writeFileSync(path, JSON.stringify(profile));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of profile.nodes) {
    const us = self.get(n.id) ?? 0;
    if (!us || n.callFrame.functionName === '(idle)') continue; // waiting for the server is not our CPU
    const file = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|bench)\//, '$1/') || '(native)';
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
    const pkg = file.startsWith('src/') || file.startsWith('bench/') ? file : file.split('/').slice(0, file.startsWith('@') ? 2 : 1).join('/');
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + us);
  }
  const total = [...byFn.values()].reduce((a, b) => a + b, 0);
  const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `      ${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
  process.stdout.write(`    CPU profile (main thread, ${(total / 1000).toFixed(0)} ms on CPU, idle excluded) written to ${path}\n    top functions by self time:\n${top(byFn, 25)}\n    by file/package:\n${top(byFile, 15)}\n`);
}

export async function benchApply(args: string[]): Promise<number> {
  const nsCount = Number(arg(args, '--namespaces', '10'));
  const total = Number(arg(args, '--objects', '300'));
  const rounds = Number(arg(args, '--rounds', '3'));
  const mixArg = arg(args, '--mix', 'both');
  const mixes: Mix[] = mixArg === 'both' ? ['deployments', 'basic'] : [mixArg as Mix];
  const state = await sandboxUp({ dir: arg(args, '--sandbox', '.sandbox') });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  kc.setCurrentContext('dr');
  const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  for (const mix of mixes) {
    const what = mix === 'deployments' ? `${Math.ceil(total * 2 / 3)} ConfigMaps, ${Math.floor(total / 6)} Services, ${Math.ceil(total / 6)} Deployments (awaited until available)` : 'ConfigMaps, Secrets, Services, ServiceAccounts, Roles';
    process.stdout.write(`apply bench [${mix}]: ${total} objects (${what}) in ${nsCount} new namespaces into the DR sandbox, ${rounds} rounds (order alternated)\n`);
    const results: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      const profile = args.includes('--cpu-prof') && i === 0 ? arg(args, '--cpu-prof', `apply-${mix}.cpuprofile`) : undefined;
      const r = await benchRound(state, kc, nsCount, total, i, mix, profile);
      results.push(r);
      const withWait = mix === 'deployments' ? ` (kubectl + wait ${fmt(r.kubectlMs + r.kubectlWaitMs)} = ${(r.relayMs / (r.kubectlMs + r.kubectlWaitMs)).toFixed(2)})` : '';
      process.stdout.write(`  round ${i + 1}: first apply rollout-relay ${fmt(r.relayMs)} (CPU ${fmt(r.relayCpuMs)}; phases ${JSON.stringify(r.phases)}) vs kubectl ${fmt(r.kubectlMs)} = ${(r.relayMs / r.kubectlMs).toFixed(2)}${withWait}; re-apply ${fmt(r.relayAgainMs)} (CPU ${fmt(r.relayAgainCpuMs)}) vs ${fmt(r.kubectlAgainMs)} = ${(r.relayAgainMs / r.kubectlAgainMs).toFixed(2)}\n`);
      process.stdout.write(`    floor reference (bare HTTP/2 client: dry run + apply, no order, no health): ${fmt(r.bareMs)} (dry run ${fmt(r.bareDryRunMs)}, apply ${fmt(r.bareApplyMs)}) = ${(r.bareMs / r.kubectlMs).toFixed(2)}× kubectl\n`);
      process.stdout.write(`    requests (UntypedObjectApi): first ${JSON.stringify(r.requests)}; re-apply ${JSON.stringify(r.requestsAgain)}\n`);
    }
    const firstRatio = median(results.map((r) => r.relayMs / r.kubectlMs));
    // kubectl returns once the API server has stored the objects; rollout-relay then waits for them to be
    // healthy (the Deployments available). The same run without that wait compares like with like.
    const writtenRatio = median(results.map((r) => (r.relayMs - (r.phases.health ?? 0)) / r.kubectlMs));
    const healthRatio = median(results.map((r) => (r.phases.health ?? 0) / r.kubectlMs));
    const againRatio = median(results.map((r) => r.relayAgainMs / r.kubectlAgainMs));
    const cpu = median(results.map((r) => r.relayCpuMs));
    const cpuAgain = median(results.map((r) => r.relayAgainCpuMs));
    process.stdout.write(`  median [${mix}] rollout-relay / kubectl apply --server-side: first apply ${firstRatio.toFixed(2)} (goal <= 0.5: ${firstRatio <= 0.5 ? 'met' : 'NOT met'}), identical re-apply ${againRatio.toFixed(2)} (goal <= 0.2: ${againRatio <= 0.2 ? 'met' : 'NOT met'})\n`);
    if (mix === 'deployments') {
      const sameWork = median(results.map((r) => r.relayMs / (r.kubectlMs + r.kubectlWaitMs)));
      process.stdout.write(`  median [${mix}] of that first apply: up to the last write (health wait left out) ${writtenRatio.toFixed(2)}× kubectl; the health wait alone ${healthRatio.toFixed(2)}× kubectl\n`);
      process.stdout.write(`  median [${mix}] first apply against the same work done with kubectl (apply --server-side, then wait --for=condition=Available on the Deployments): ${sameWork.toFixed(2)} (goal <= 0.5: ${sameWork <= 0.5 ? 'met' : 'NOT met'})\n`);
    }
    const floorRatio = median(results.map((r) => r.bareMs / r.kubectlMs));
    const overFloor = median(results.map((r) => r.relayMs / r.bareMs));
    process.stdout.write(`  median [${mix}] floor reference / kubectl: ${floorRatio.toFixed(2)} (the least an all-or-nothing apply costs on this API server); rollout-relay / floor reference: ${overFloor.toFixed(2)}\n`);
    process.stdout.write(`  median [${mix}] rollout-relay CPU per apply: first ${fmt(cpu)} (goal <= 0.60 s: ${cpu <= 600 ? 'met' : 'NOT met'}), re-apply ${fmt(cpuAgain)}\n`);
  }
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchApply(process.argv.slice(2));
}
