import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { sandboxUp } from '../sandbox/index.js';
import { serverSideApply } from '../sandbox/cluster.js';
import { waitFor } from '../sandbox/http.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { generateSigningKeyPair, keyIdOf, privateKeyPem, publicKeyPem } from '../signing/keys.js';
import { loadRelayConfig } from '../config/load.js';
import { startController } from '../controller/run.js';
import { judgeCompletion } from '../promote/completion.js';
import { StatusWriter } from '../status/writer.js';

export interface DemoOptions {
  dir: string;
  out: Writable;
}

const NAMESPACE = 'demo';
const APP = 'checkout';
const PRIMARY = 'shanghai';
const DR = 'shenzhen';
const SLA_MS = 100_000;
const SELECTOR = 'rollout-relay.io/promote';

type Rollout = KubernetesObject & {
  spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
  status?: { phase?: string; stableRS?: string; availableReplicas?: number };
};

interface LogLine {
  msg: string;
  time: number;
  [k: string]: unknown;
}

function primaryObjects(image: string): KubernetesObject[] {
  const labels = { app: APP };
  const instance = { 'app.kubernetes.io/instance': APP };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${APP}-config`, namespace: NAMESPACE, labels: instance }, data: { PAYMENT_TIMEOUT: '3s' } } as KubernetesObject,
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: APP, namespace: NAMESPACE, labels: instance },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    } as KubernetesObject,
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: APP, namespace: NAMESPACE, labels: { ...instance, [SELECTOR]: 'true' } },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: APP, image, ports: [{ containerPort: 8080 }] }] } },
        // A canary with a pause: DR must not replay it (the controller promotes DR's copy in full).
        strategy: { canary: { steps: [{ setWeight: 34 }, { pause: { duration: '2s' } }] } },
      },
    } as KubernetesObject,
  ];
}

/** Writes the demo's own key pair, trust policy, notify token and RelayConfig into `work`. */
function writeDemoConfig(work: string, kubeconfig: string): { configPath: string; keyId: string } {
  const keys = generateSigningKeyPair('ecdsa-p256');
  writeFileSync(join(work, 'release.key'), privateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(join(work, 'release.pub'), publicKeyPem(keys.publicKey));
  writeFileSync(join(work, 'notify.token'), randomBytes(24).toString('hex') + '\n', { mode: 0o600 });
  writeFileSync(join(work, 'trust-policy.yaml'), stringify({
    apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1,
    keys: [{ name: 'demo-release-signer', publicKey: 'release.pub', sources: [PRIMARY], targets: [DR] }],
  }));
  const configPath = join(work, 'relay.yaml');
  writeFileSync(configPath, stringify({
    apiVersion: 'rollout-relay.io/v1',
    kind: 'RelayConfig',
    source: { cluster: PRIMARY, context: 'primary', kubeconfig },
    watch: { namespaces: [NAMESPACE] },
    signing: { keys: ['release.key'] },
    trustPolicy: 'trust-policy.yaml',
    targets: [{ name: DR, context: 'dr', kubeconfig }],
    timeouts: { promotion: '100s' },
    server: { listen: '127.0.0.1:0', tokenFile: 'notify.token' },
  }));
  return { configPath, keyId: keyIdOf(keys.publicKey) };
}

/** The next demo image: 1.N.0 → 1.(N+1).0, so every run shows a real update. */
function nextImage(current: string | undefined): string {
  const m = /:1\.(\d+)\.0$/.exec(current ?? '');
  return `registry.example/checkout:1.${m ? Number(m[1]) + 1 : 5}.0`;
}

/**
 * The main job, end to end on two real clusters, told as a timeline: an image update of a Rollout
 * in primary completes (the real Argo Rollouts controller); the rollout-relay controller, watching
 * primary, detects it from the Rollout's own status, exports the live objects, bundles, signs,
 * verifies against the trust policy and applies to DR, where Argo Rollouts runs the same
 * pod-template-hash; DR's status ConfigMap says `completed`.
 */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const say = (line: string) => opts.out.write(line + '\n');
  const state = await sandboxUp({ dir: opts.dir, log: say });
  const kc = (context: string) => {
    const k = new KubeConfig();
    k.loadFromFile(state.kubeconfig);
    k.setCurrentContext(context);
    return k;
  };
  const primary = kc('primary');
  const dr = kc('dr');
  const objects = UntypedObjectApi.forKubeConfig(primary);
  const readRollout = async (api: UntypedObjectApi) => (await api.read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: APP, namespace: NAMESPACE } })) as Rollout;
  const drObjects = UntypedObjectApi.forKubeConfig(dr);
  const work = join(opts.dir, 'demo');
  mkdirSync(work, { recursive: true });
  const { configPath, keyId } = writeDemoConfig(work, state.kubeconfig);

  // A release already running in primary (revision 1 on a fresh sandbox).
  const existing = await readRollout(objects).catch(() => undefined);
  const currentImage = existing?.spec?.template?.spec?.containers?.[0]?.image ?? 'registry.example/checkout:1.4.0';
  await serverSideApply(primary, primaryObjects(currentImage));
  const complete = async (image: string) => {
    const ro = await readRollout(objects);
    return ro.spec?.template?.spec?.containers?.[0]?.image === image && judgeCompletion(ro as never).complete ? ro : undefined;
  };
  await waitFor(`primary: rollout ${APP} at ${currentImage} complete`, async () => !!(await complete(currentImage)), { timeoutMs: 120_000, intervalMs: 250 });

  // The controller, in this process; its JSON log goes to a file and feeds the timeline.
  const logFile = join(work, 'controller.log');
  writeFileSync(logFile, '');
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      appendFileSync(logFile, chunk);
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const log = pino({ level: 'info', base: { name: 'rollout-relay' }, formatters: { level: (label) => ({ level: label }) } }, sink);
  const running = await startController(loadRelayConfig(configPath), { log });
  say(`controller: watching ${NAMESPACE} in primary (${PRIMARY}) for Rollouts/Deployments labelled ${SELECTOR}=true; target ${DR}; signing key ${keyId.slice(0, 16)}…; endpoints on http://127.0.0.1:${running.server?.port} (log: ${logFile})`);
  try {
    // Start-up catch-up: DR is behind primary's stable revision (empty on a fresh sandbox).
    const status = new StatusWriter(dr, `${NAMESPACE}/${APP}`);
    const stable = (await complete(currentImage))!;
    await waitFor(`DR catch-up to ${currentImage}`, async () => {
      const s = await status.read().catch(() => undefined);
      return s?.record.state === 'completed' && s.record.podTemplateHash === stable.status?.stableRS;
    }, { timeoutMs: SLA_MS, intervalMs: 250 });
    say(`catch-up: DR was behind primary's stable revision (${currentImage}); the controller promoted it on start: DR completed`);

    // The image update: the story the timeline tells.
    const image = nextImage(currentImage);
    const t0 = Date.now();
    const at = (t: number) => `+${((t - t0) / 1000).toFixed(1).padStart(5)} s`;
    const from = lines.length;
    await serverSideApply(primary, primaryObjects(image));
    say('');
    say(`timeline of the image update ${currentImage} → ${image}:`);
    say(`${at(t0)}  primary: image updated (server-side apply of the Rollout)`);
    let done: Rollout | undefined;
    await waitFor(`primary: rollout at ${image} complete`, async () => !!(done = await complete(image)), { timeoutMs: 120_000, intervalMs: 100 });
    const tPrimary = Date.now();
    const revision = done!.metadata?.annotations?.['rollout.argoproj.io/revision'] ?? '?';
    const hash = done!.status?.stableRS ?? '';
    const events = await primary.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NAMESPACE });
    const completedEvent = events.items.filter((e) => e.reason === 'RolloutCompleted' && e.involvedObject.name === APP).map((e) => e.message).pop();
    say(`${at(tPrimary)}  primary: Argo Rollouts completed revision ${revision} (canary steps done; stableRS == currentPodHash = ${hash}); Event RolloutCompleted: "${completedEvent ?? 'not seen yet'}"`);
    let finished: LogLine | undefined;
    await waitFor('the controller to finish the promotion', async () => !!(finished = lines.slice(from).find((l) => l.msg === 'promotion finished' && l.podTemplateHash === hash)), { timeoutMs: SLA_MS, intervalMs: 100 });
    const promoting = lines.slice(from).find((l) => l.msg === 'promoting' && l.podTemplateHash === hash);
    if (promoting) say(`${at(promoting.time)}  controller: detected revision ${revision} complete (${promoting.reason}); promoting to ${DR}`);
    const bundle = lines.slice(from).find((l) => l.msg === 'bundle signed' && l.sequence === finished!.sequence);
    if (bundle) say(`${at(bundle.time)}  controller: exported, bundled and signed: ${bundle.objects} objects, sequence ${bundle.sequence}, ${bundle.bundleDigest}`);
    const phases = finished!.phaseDurations as Record<string, number>;
    // `health` is DR's own readiness wait, measured inside `apply`.
    const shown = Object.entries(phases).filter(([k]) => k !== 'health').map(([k, v]) => (k === 'apply' && phases.health !== undefined ? `apply ${v} (of which DR readiness ${phases.health})` : `${k} ${v}`));
    say(`           phases (ms): ${shown.join(', ')}`);
    const outcome = (finished!.targets as { target: string; state: string; seconds: number }[])[0];
    say(`${at(finished!.time)}  dr (${DR}): verified against the trust policy, applied, healthy: ${outcome?.state} (${outcome?.seconds.toFixed(1)} s on the target)`);
    const st = (await status.read())?.record;
    const drRollout = await readRollout(drObjects);
    say('');
    say(`dr (${DR}): status ConfigMap ${status.namespace}/${status.name}: hot_update_status=${st?.state}, revision=${st?.revision}, sequence=${st?.sequence}, bundle_digest=${st?.bundleDigest}, source_cluster=${st?.sourceCluster}`);
    say(`dr (${DR}): rollout ${NAMESPACE}/${APP} phase=${drRollout.status?.phase}, ${drRollout.status?.availableReplicas ?? 0}/3 available, image ${drRollout.spec?.template?.spec?.containers?.[0]?.image}`);
    say(`pod-template-hash: primary ${hash}, dr ${drRollout.status?.stableRS}: ${drRollout.status?.stableRS === hash ? 'identical' : 'DIFFERENT'}`);
    const detectToDone = finished!.time - tPrimary;
    say(`primary complete → DR completed: ${(detectToDone / 1000).toFixed(1)} s (SLA ${SLA_MS / 1000} s): ${detectToDone <= SLA_MS ? 'within SLA' : 'SLA MISSED'}`);
    say(`Try: eval "$(npx rollout-relay sandbox env --dir ${opts.dir})" && kubectl --context dr -n ${NAMESPACE} get rollout,pods,configmap`);
    say(`Run the controller yourself: npx rollout-relay controller --config ${configPath}`);
    say(`The sandbox keeps running; stop it with: npx rollout-relay sandbox down --dir ${opts.dir}`);
  } finally {
    await running.stop();
  }
}
