import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { sandboxUp } from '../sandbox/index.js';
import { serverSideApply } from '../sandbox/cluster.js';
import { waitFor } from '../sandbox/http.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { writeBundleFile, formatDigest } from '../bundle/index.js';
import { generateSigningKeyPair, keyIdOf, privateKeyPem, publicKeyPem } from '../signing/keys.js';
import { keySigner } from '../signing/signer.js';
import { signBundleFile } from '../verify/index.js';
import { loadTrustPolicy } from '../policy/index.js';
import { applyBundleFile } from '../apply/index.js';
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

type Rollout = KubernetesObject & {
  spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
  status?: { phase?: string; stableRS?: string; currentPodHash?: string; observedGeneration?: string; availableReplicas?: number; updatedReplicas?: number };
};

function primaryObjects(image: string): KubernetesObject[] {
  const labels = { app: APP };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${APP}-config`, namespace: NAMESPACE }, data: { PAYMENT_TIMEOUT: '3s' } } as KubernetesObject,
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: APP, namespace: NAMESPACE },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    } as KubernetesObject,
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: APP, namespace: NAMESPACE, labels: { 'argocd.argoproj.io/instance': APP } },
      spec: {
        replicas: 3,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: APP, image, ports: [{ containerPort: 8080 }] }] } },
        strategy: { canary: { steps: [{ setWeight: 34 }, { pause: { duration: '1s' } }] } },
      },
    } as KubernetesObject,
  ];
}

/** Design §1: complete when stableRS == currentPodHash, the spec was observed and all replicas are up. */
function rolloutComplete(ro: Rollout, replicas: number): boolean {
  const s = ro.status;
  // Without the generation check, the status of the previous revision reads as "complete".
  return !!s && String(s.observedGeneration) === String(ro.metadata?.generation) && s.phase === 'Healthy' && !!s.stableRS && s.stableRS === s.currentPodHash && s.availableReplicas === replicas && s.updatedReplicas === replicas;
}

/**
 * The main job, end to end on two real clusters: a Rollout finishes in primary (the real Argo
 * Rollouts controller), its live objects are exported, packed into a deterministic bundle, signed,
 * verified against a trust policy and server-side applied to DR, which becomes healthy; the
 * outcome lands in DR's status ConfigMap.
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
  const objects = UntypedObjectApi.forKubeConfig(primary);
  const readRollout = async () => (await objects.read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: APP, namespace: NAMESPACE } })) as Rollout;

  // 1. A release finishes in primary: revision 1, then an update to revision 2.
  for (const image of ['registry.example/checkout:1.4.0', 'registry.example/checkout:1.5.0']) {
    await serverSideApply(primary, primaryObjects(image));
    await waitFor(`primary: rollout ${APP} at ${image} complete`, async () => {
      const ro = await readRollout();
      return ro.spec?.template?.spec?.containers?.[0]?.image === image && rolloutComplete(ro, 3);
    }, { timeoutMs: 120_000, intervalMs: 250 });
  }
  const t0 = Date.now();
  const rollout = await readRollout();
  const revision = rollout.metadata?.annotations?.['rollout.argoproj.io/revision'] ?? '';
  const events = await primary.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NAMESPACE });
  const completed = events.items
    .filter((e) => e.reason === 'RolloutCompleted' && e.involvedObject.name === APP)
    .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
    .map((e) => e.message)
    .pop();
  say(`primary (${PRIMARY}): rollout ${NAMESPACE}/${APP} revision ${revision} complete, stableRS=${rollout.status?.stableRS}; event RolloutCompleted: "${completed ?? 'not seen'}"`);

  // 2. Export what is live now (raw JSON, nothing lost), bundle it deterministically.
  const live: KubernetesObject[] = [(await objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }))];
  for (const [apiVersion, kind] of [['v1', 'ConfigMap'], ['v1', 'Service'], ['argoproj.io/v1alpha1', 'Rollout']] as const) {
    const list = await objects.listRaw(apiVersion, kind, NAMESPACE);
    live.push(...list.items.filter((o) => o.metadata?.name !== 'kube-root-ca.crt').map((o) => ({ ...o, apiVersion, kind })));
  }
  const work = join(opts.dir, 'demo');
  mkdirSync(work, { recursive: true });
  const bundlePath = join(work, `${APP}-r${revision}.bundle.tar`);
  const created = await writeBundleFile(bundlePath, live, {
    source: { cluster: PRIMARY, namespace: NAMESPACE, kind: 'Rollout', name: APP, revision, ...(rollout.status?.stableRS ? { podTemplateHash: rollout.status.stableRS } : {}) },
    targets: [DR],
  });
  say(`bundle: ${created.objects.length} objects (${created.dropped.length} dropped), ${created.bytes.length} bytes, ${formatDigest(created.digest)}`);

  // 3. Sign with a demo key (made here, kept in the sandbox directory, never committed).
  const keys = generateSigningKeyPair('ecdsa-p256');
  writeFileSync(join(work, 'release.key'), privateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(join(work, 'release.pub'), publicKeyPem(keys.publicKey));
  const policyPath = join(work, 'trust-policy.yaml');
  writeFileSync(policyPath, [
    'apiVersion: rollout-relay.io/v1', 'kind: TrustPolicy', 'threshold: 1', 'keys:',
    '  - name: demo-release-signer', '    publicKey: release.pub', `    sources: [${PRIMARY}]`, `    targets: [${DR}]`, '',
  ].join('\n'));
  const signed = await signBundleFile({ bundlePath, signers: [keySigner(keys.privateKey)] });
  say(`signed: DSSE envelope ${signed.signaturePath}, key id ${keyIdOf(keys.publicKey)}`);

  // 4. Verify and apply to DR: preflight, ordered server-side apply, health within the SLA.
  const dr = kc('dr');
  const result = await applyBundleFile({
    bundlePath,
    policy: loadTrustPolicy(policyPath),
    target: { name: DR, kubeConfig: dr },
    timeoutMs: SLA_MS,
    pollIntervalMs: 250,
  });
  const elapsed = Date.now() - t0;
  say(`dr (${DR}): verified by ${result.verified.keyNames.join(', ')}; ${result.report.result}: ${result.report.applied.length} objects applied; phases ${JSON.stringify(result.report.phaseDurations)}`);
  const statusWriter = new StatusWriter(dr, result.verified.index.application);
  const status = await statusWriter.read();
  say(`dr (${DR}): status ConfigMap ${statusWriter.namespace}/${statusWriter.name}: hot_update_status=${status?.record.state}, revision=${status?.record.revision}, bundle_digest=${status?.record.bundleDigest}`);
  const drRollout = (await UntypedObjectApi.forKubeConfig(dr).read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: APP, namespace: NAMESPACE } })) as Rollout;
  say(`dr (${DR}): rollout ${NAMESPACE}/${APP} phase=${drRollout.status?.phase}, ${drRollout.status?.availableReplicas ?? 0}/3 available, image ${drRollout.spec?.template?.spec?.containers?.[0]?.image}`);
  // Same pod template, same hash: DR runs exactly the template that completed in primary.
  const sameTemplate = drRollout.status?.stableRS === rollout.status?.stableRS;
  say(`pod-template-hash: primary ${rollout.status?.stableRS}, dr ${drRollout.status?.stableRS}: ${sameTemplate ? 'identical' : 'DIFFERENT'}`);
  say(`promotion primary → DR took ${(elapsed / 1000).toFixed(1)} s (SLA ${SLA_MS / 1000} s): ${elapsed <= SLA_MS ? 'within SLA' : 'SLA MISSED'}`);
  say(`Try: eval "$(npx rollout-relay sandbox env --dir ${opts.dir})" && kubectl --context dr -n ${NAMESPACE} get rollout,pods,configmap`);
  say(`The sandbox keeps running; stop it with: npx rollout-relay sandbox down --dir ${opts.dir}`);
}
