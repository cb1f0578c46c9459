import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type CoreV1Event, type KubernetesObject } from '@kubernetes/client-node';
import { parse as parseYaml, stringify } from 'yaml';
import { generateSigningKeyPair, keyIdOf, privateKeyPem, publicKeyPem } from '../../../src/signing/index.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { judgeCompletion } from '../../../src/promote/completion.js';
import { ApplicationExporter } from '../../../src/export/index.js';
import { loadRelayConfig } from '../../../src/config/load.js';
import { Promoter } from '../../../src/promote/index.js';
import { StatusWriter } from '../../../src/status/index.js';
import { kubeConfig, sandbox } from '../support/sandbox.js';

export const INSTANCE = 'app.kubernetes.io/instance';

/** A config directory: a real release key, a trust policy trusting it (or not), and a relay.yaml. */
export class RelaySetup {
  readonly dir = mkdtempSync(join(tmpdir(), 'rr-promote-'));
  readonly configPath: string;
  readonly policyPath: string;
  /** Key ids (as `rollout-relay keys id` prints them) of release.key (trusted) and other.key (a key the policy does not trust). */
  readonly releaseKeyId: string;
  readonly otherKeyId: string;

  constructor(opts: { trusted?: boolean; targets?: Record<string, unknown>[]; extra?: Record<string, unknown> } = {}) {
    const release = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(this.dir, 'release.key'), privateKeyPem(release.privateKey), { mode: 0o600 });
    writeFileSync(join(this.dir, 'release.pub'), publicKeyPem(release.publicKey));
    const other = generateSigningKeyPair('ecdsa-p256');
    writeFileSync(join(this.dir, 'other.pub'), publicKeyPem(other.publicKey));
    writeFileSync(join(this.dir, 'other.key'), privateKeyPem(other.privateKey), { mode: 0o600 });
    this.releaseKeyId = keyIdOf(release.publicKey);
    this.otherKeyId = keyIdOf(other.publicKey);
    this.policyPath = join(this.dir, 'trust-policy.yaml');
    this.trust(opts.trusted ?? true);
    this.configPath = join(this.dir, 'relay.yaml');
    writeFileSync(this.configPath, stringify({
      apiVersion: 'rollout-relay.io/v1',
      kind: 'RelayConfig',
      source: { cluster: 'shanghai', context: 'primary', kubeconfig: sandbox().kubeconfig },
      signing: { keys: ['release.key'] },
      trustPolicy: 'trust-policy.yaml',
      targets: opts.targets ?? [{ name: 'shenzhen', context: 'dr', kubeconfig: sandbox().kubeconfig }],
      ...opts.extra,
    }));
  }

  /** Rewrites the trust policy: trusting the release key, or only another key; `scope` is the policy-wide scope (default: none, so the built-in one). */
  trust(release: boolean, scope?: Record<string, unknown>): void {
    writeFileSync(this.policyPath, stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1,
      keys: [{ name: release ? 'release-signer' : 'some-other-signer', publicKey: release ? 'release.pub' : 'other.pub', sources: ['shanghai'] }],
      ...(scope ? { scope } : {}),
    }));
  }

  promoter(): Promoter {
    return new Promoter(loadRelayConfig(this.configPath), { primary: kubeConfig('primary') });
  }

  /** A kubeconfig with the sandbox's contexts plus `unreachable`, a cluster on a closed loopback port. */
  async unreachableKubeconfig(): Promise<string> {
    const port = await closedPort();
    const kc = parseYaml(readFileSync(sandbox().kubeconfig, 'utf8')) as { clusters: { name: string; cluster: Record<string, unknown> }[]; contexts: { name: string; context: { cluster: string; user: string } }[] };
    const dr = kc.contexts.find((c) => c.name === 'dr')!;
    const drCluster = kc.clusters.find((c) => c.name === dr.context.cluster)!;
    kc.clusters.push({ name: 'beijing', cluster: { ...drCluster.cluster, server: `https://127.0.0.1:${port}` } });
    kc.contexts.push({ name: 'unreachable', context: { cluster: 'beijing', user: dr.context.user } });
    const path = join(this.dir, 'kubeconfig-with-unreachable');
    writeFileSync(path, stringify(kc), { mode: 0o600 });
    return path;
  }
}

/** A loopback port nothing listens on (taken from the OS, then closed). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const labels = (app: string) => ({ [INSTANCE]: app });

/** The application's objects in primary: a ConfigMap, a Service and a Rollout (canary, short steps unless given). */
export function rolloutApp(ns: string, app: string, image: string, steps: unknown[] = [{ setWeight: 50 }, { pause: { duration: '1s' } }], extra: KubernetesObject[] = []): KubernetesObject[] {
  const sel = { app };
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app}-config`, namespace: ns, labels: labels(app) }, data: { TIMEOUT: '3s' } } as KubernetesObject,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: app, namespace: ns, labels: labels(app) }, spec: { selector: sel, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } } as KubernetesObject,
    ...extra,
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: app, namespace: ns, labels: labels(app) },
      spec: {
        replicas: 2,
        selector: { matchLabels: sel },
        template: { metadata: { labels: sel }, spec: { containers: [{ name: app, image, ports: [{ containerPort: 8080 }] }] } },
        strategy: { canary: { steps } },
      },
    } as KubernetesObject,
  ];
}

export function deploymentApp(ns: string, app: string, image: string): KubernetesObject[] {
  const sel = { app };
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${app}-config`, namespace: ns, labels: labels(app) }, data: { TIMEOUT: '3s' } } as KubernetesObject,
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: app, namespace: ns, labels: labels(app) },
      spec: { replicas: 2, selector: { matchLabels: sel }, template: { metadata: { labels: sel }, spec: { containers: [{ name: app, image }] } } },
    } as KubernetesObject,
  ];
}

export async function applyPrimary(objects: KubernetesObject[]): Promise<void> {
  await serverSideApply(kubeConfig('primary'), objects);
}

export function objects(context: 'primary' | 'dr'): UntypedObjectApi {
  return UntypedObjectApi.forKubeConfig(kubeConfig(context));
}

export async function readLive<T = Record<string, unknown>>(context: 'primary' | 'dr', apiVersion: string, kind: string, ns: string, name: string): Promise<T & KubernetesObject> {
  return (await objects(context).read({ apiVersion, kind, metadata: { name, ...(ns ? { namespace: ns } : {}) } })) as T & KubernetesObject;
}

/** Waits until the workload in primary is complete by design §1; returns its pod-template-hash. */
export async function waitComplete(kind: 'Rollout' | 'Deployment', ns: string, name: string, image: string): Promise<string> {
  const exporter = new ApplicationExporter(kubeConfig('primary'));
  let hash = '';
  await waitFor(`primary: ${kind} ${ns}/${name} at ${image} complete`, async () => {
    const w = await exporter.readWorkload({ kind, namespace: ns, name });
    const img = (w.spec as { template?: { spec?: { containers?: { image?: string }[] } } }).template?.spec?.containers?.[0]?.image;
    const c = judgeCompletion(w as never, kind === 'Deployment' ? await exporter.deploymentPodTemplateHash(w) : '');
    hash = c.podTemplateHash;
    return img === image && c.complete;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  return hash;
}

export async function drStatus(application: string) {
  return (await new StatusWriter(kubeConfig('dr'), application).read())?.record;
}

/** Namespaces the promotions created in DR: deleted after each test. */
const drNamespaces = new Set<string>();
export function cleanupDrNamespace(ns: string): void {
  drNamespaces.add(ns);
}
export async function deleteDrNamespaces(): Promise<void> {
  const api = kubeConfig('dr').makeApiClient(CoreV1Api);
  await Promise.all([...drNamespaces].map((name) => api.deleteNamespace({ name, propagationPolicy: 'Background' }).catch(() => undefined)));
  drNamespaces.clear();
}

/** An Argo CD Application in primary whose status.sync.revision names the commit. */
export async function argoApplication(argocdNs: string, name: string, revision: string): Promise<void> {
  const api = objects('primary');
  await api.create({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, namespace: argocdNs }, spec: { project: 'default' } } as KubernetesObject);
  await api.patchRaw(`/apis/argoproj.io/v1alpha1/namespaces/${argocdNs}/applications/${name}/status`, 'application/merge-patch+json', { status: { sync: { status: 'Synced', revision } } });
}

/** resourceVersions of the DR Rollout, ConfigMap and Service of `app`: unchanged means nothing was written. */
export async function drVersions(ns: string, app: string): Promise<(string | undefined)[]> {
  return Promise.all([
    readLive('dr', 'argoproj.io/v1alpha1', 'Rollout', ns, app), readLive('dr', 'v1', 'ConfigMap', ns, `${app}-config`), readLive('dr', 'v1', 'Service', ns, app),
  ].map(async (p) => (await p).metadata?.resourceVersion));
}

/** The DRVerificationFailed Event a paused promotion leaves on Rollout `ns/name` in primary. */
export async function verificationFailedEvent(ns: string, name: string): Promise<CoreV1Event | undefined> {
  const events = await kubeConfig('primary').makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
  return events.items.find((e) => e.reason === 'DRVerificationFailed' && e.involvedObject.kind === 'Rollout' && e.involvedObject.name === name);
}
