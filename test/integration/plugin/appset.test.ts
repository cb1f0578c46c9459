import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { emptyStatus, statusConfigMapName, statusToData, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../src/status/index.js';
import { AnswerGuard, ClusterStatusSource, createPluginHandler, startPluginServer, type PluginTarget, type RunningPluginServer } from '../../../src/plugin/index.js';
import { deleteNamespaceAndWait, kubeConfig, suiteNamespace } from '../support/sandbox.js';
import { useRealArgoCdCrds } from '../support/argocd.js';
import { ARGOCD_NAMESPACE, installArgoCdSettings, setArgoCdPluginToken, startAppsetController, type AppsetController } from '../support/appset-controller.js';

const TOKEN = 'appset-plugin-token-4f1c9a';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The plugin generator with its real peer: Argo CD's own ApplicationSet controller (v2.14, built
 * from its Go module) polling rollout-relay's plugin endpoint every 2 s. Two DR targets: `shenzhen`
 * (the DR sandbox cluster) and `guangzhou`, played by the primary sandbox cluster (the plugin only
 * reads status ConfigMaps there), so a target can disappear while another stays.
 */
/** Key ids as DR's status records them (SHA-256 of a public key's SPKI, hex). */
const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);

describe('plugin: the real ApplicationSet controller generates DR Applications from rollout-relay', function () {
  this.timeout(15 * 60_000);
  let restoreCrds: (() => Promise<void>) | undefined;
  let controller: AppsetController | undefined;
  let server: RunningPluginServer;
  let ns: string;
  let primary: KubeConfig;
  let apps: UntypedObjectApi;
  const answers: { status: number; at: number }[] = [];
  let targets: PluginTarget[];
  let reader: ClusterStatusSource;
  /** Holds reads while a test changes several ConfigMaps, so no read sees half of the change. */
  let gate: Promise<void> = Promise.resolve();

  const serverOf = (kc: KubeConfig) => kc.getCurrentCluster()!.server;

  async function writeStatus(kc: KubeConfig, app: string, fields: { revision: string; commit: string; sequence: number; keyIds?: string[] }): Promise<void> {
    const data = statusToData({ ...emptyStatus(), state: 'completed', revision: fields.revision, bundleDigest: `sha256:${'ab'.repeat(32)}`, sequence: fields.sequence, sourceCluster: 'shanghai', finishedAt: new Date().toISOString(), keyIds: fields.keyIds ?? [] });
    await serverSideApply(kc, [{
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: statusConfigMapName(app), namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
      data: { ...data, commit: fields.commit },
    } as KubernetesObject]);
  }

  async function deleteStatus(kc: KubeConfig, app: string): Promise<void> {
    await kc.makeApiClient(CoreV1Api).deleteNamespacedConfigMap({ name: statusConfigMapName(app), namespace: ns });
  }

  async function applications(): Promise<Map<string, { targetRevision: string; server: string }>> {
    const list = await apps.list('argoproj.io/v1alpha1', 'Application', ARGOCD_NAMESPACE);
    return new Map(list.items.map((a) => {
      const spec = (a as KubernetesObject & { spec: { source: { targetRevision: string }; destination: { server: string } } }).spec;
      return [a.metadata!.name!, { targetRevision: spec.source.targetRevision, server: spec.destination.server }];
    }));
  }

  async function waitApps(what: string, check: (names: string[]) => boolean, timeoutMs = 60_000): Promise<Map<string, { targetRevision: string; server: string }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await applications();
      if (check([...current.keys()].sort())) return current;
      if (Date.now() - (answers.at(-1)?.at ?? 0) > 3000) await poke();
      if (Date.now() > deadline) throw new Error(`${what}: Applications are [${[...current.keys()].join(', ')}] after ${timeoutMs} ms; controller log:\n${readFileSync(controller!.log, 'utf8').split('\n').slice(-30).join('\n')}`);
      await sleep(500);
    }
  }

  let pokes = 0;
  /**
   * After a generator error the controller waits 3 minutes before it asks again; any change to the
   * ApplicationSet makes it reconcile at once, so the test touches an annotation to ask for one.
   */
  async function poke(): Promise<void> {
    // Its own field manager: it owns only this annotation, so the spec is left alone.
    await apps.patch({
      apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'checkout-dr', namespace: ARGOCD_NAMESPACE, annotations: { 'rollout-relay.io/test-poke': String(++pokes) } },
    }, undefined, undefined, 'rollout-relay-test-poke', true, PatchStrategy.ServerSideApply);
  }

  /** Waits until the controller asked `n` more times, all answered with `status`, asking for a reconcile when it idles. */
  async function reconciles(n: number, status: number, timeoutMs = 90_000): Promise<void> {
    const from = answers.length;
    const deadline = Date.now() + timeoutMs;
    while (answers.slice(from).filter((a) => a.status === status).length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} plugin answers with ${status}; got ${answers.slice(from).map((a) => a.status).join(', ') || 'none'}`);
      if (Date.now() - (answers.at(-1)?.at ?? 0) > 3000) await poke();
      await sleep(1000);
    }
  }

  before(async function () {
    this.timeout(30 * 60_000);   // the first run builds the controller from source (about 10 minutes)
    primary = kubeConfig('primary');
    apps = UntypedObjectApi.forKubeConfig(primary);
    ns = await suiteNamespace('appset', ['primary', 'dr']);
    const dr = kubeConfig('dr');
    targets = [{ name: 'shenzhen', server: serverOf(dr), kubeConfig: dr }, { name: 'guangzhou', server: serverOf(primary), kubeConfig: primary }];
    reader = new ClusterStatusSource({ primary, targets });
    const handler = createPluginHandler({
      token: TOKEN,
      guard: new AnswerGuard({ cacheTtlMs: 8_000, maxDropShare: 0.5, confirmReads: 1000 }),
      read: async (filter) => { await gate; return reader.read(filter); },
      readTimeoutMs: 5_000,
    });
    server = await startPluginServer({
      listen: '127.0.0.1:0',
      handler: async (req, res) => {
        res.on('finish', () => answers.push({ status: res.statusCode, at: Date.now() }));
        await handler(req, res);
      },
    });
    restoreCrds = await useRealArgoCdCrds(primary);
    await installArgoCdSettings(primary, { pluginUrl: server.url, token: TOKEN, clusters: targets.map((t) => ({ name: t.name, server: t.server })) });
    await writeStatus(dr, 'checkout', { revision: '3', commit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', sequence: 3, keyIds: [KEY_A, KEY_B] });
    await writeStatus(primary, 'checkout', { revision: '2', commit: '0f1e2d3c4b5a69788796a5b4c3d2e1f001234567', sequence: 2 });
    controller = await startAppsetController((line) => process.stderr.write(`${line}\n`));
    await serverSideApply(primary, [{
      apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'checkout-dr', namespace: ARGOCD_NAMESPACE },
      spec: {
        goTemplate: true,
        goTemplateOptions: ['missingkey=error'],
        generators: [{ plugin: { configMapRef: { name: 'rollout-relay-plugin' }, input: { parameters: { namespace: ns } }, requeueAfterSeconds: 2 } }],
        syncPolicy: { preserveResourcesOnDeletion: true },
        template: {
          metadata: { name: '{{.application}}-{{.cluster}}', annotations: { 'rollout-relay.io/bundle-digest': '{{.bundleDigest}}', 'rollout-relay.io/key-ids': '{{.keyIds}}' } },
          spec: {
            project: 'default',
            source: { repoURL: 'https://git.example.com/shop/checkout.git', path: 'deploy', targetRevision: '{{.commit}}' },
            destination: { server: '{{.server}}', namespace: ns },
          },
        },
      },
    } as KubernetesObject]);
  });

  after(async () => {
    await controller?.stop();
    await apps.delete({ apiVersion: 'argoproj.io/v1alpha1', kind: 'ApplicationSet', metadata: { name: 'checkout-dr', namespace: ARGOCD_NAMESPACE } }).catch(() => undefined);
    await deleteNamespaceAndWait('primary', ARGOCD_NAMESPACE);
    if (ns) await Promise.all([deleteNamespaceAndWait('primary', ns), deleteNamespaceAndWait('dr', ns)]);
    await server?.close();
    await restoreCrds?.();
  });

  it('generates one Application per DR cluster, pinned to the commit verified and completed there', async () => {
    const current = await waitApps('both Applications', (names) => names.length === 2);
    assert.deepEqual(current.get('checkout-shenzhen'), { targetRevision: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', server: serverOf(kubeConfig('dr')) });
    assert.deepEqual(current.get('checkout-guangzhou'), { targetRevision: '0f1e2d3c4b5a69788796a5b4c3d2e1f001234567', server: serverOf(primary) });
    assert.ok(answers.every((a) => a.status === 200));
    // The keys DR verified reach the Applications too (empty where the status records none).
    const annotations = new Map((await apps.list('argoproj.io/v1alpha1', 'Application', ARGOCD_NAMESPACE)).items.map((a) => [a.metadata!.name!, a.metadata!.annotations ?? {}]));
    assert.equal(annotations.get('checkout-shenzhen')!['rollout-relay.io/key-ids'], `${KEY_A},${KEY_B}`);
    assert.equal(annotations.get('checkout-guangzhou')!['rollout-relay.io/key-ids'], '');
  });

  it('a wrong token gets 403 and deletes nothing, over several reconciles', async () => {
    await setArgoCdPluginToken(primary, 'not-the-plugin-token');
    try {
      await reconciles(3, 403);
      assert.deepEqual((await applications()).size, 2);
    } finally {
      await setArgoCdPluginToken(primary, TOKEN);
    }
    await reconciles(1, 200);
  });

  it('the DR API down: the cached answer while younger than cacheTTL, then 503; no Application is deleted', async () => {
    // A real client against a port nothing listens on: connection refused, as when DR's API is down.
    const dr = kubeConfig('dr');
    const down = new KubeConfig();
    down.loadFromOptions({
      clusters: [{ ...dr.getCurrentCluster()!, server: 'https://127.0.0.1:1' }], users: [dr.getCurrentUser()!],
      contexts: [{ name: 'down', cluster: dr.getCurrentCluster()!.name, user: dr.getCurrentUser()!.name }], currentContext: 'down',
    });
    reader = new ClusterStatusSource({ primary, targets: [{ ...targets[0]!, kubeConfig: down }, targets[1]!] });
    try {
      await reconciles(2, 200);          // served from the cache (8 s TTL)
      await reconciles(3, 503, 90_000);  // then refused
      assert.equal((await applications()).size, 2, 'every Application is still there');
    } finally {
      reader = new ClusterStatusSource({ primary, targets });
    }
    await reconciles(1, 200);
  });

  it('a cluster dropped within maxDropShare loses its Application; a drop beyond it keeps them', async () => {
    await deleteStatus(primary, 'checkout');                    // 1 of 2 entries: 0.5, within 0.5
    await waitApps('guangzhou removed', (names) => names.join() === 'checkout-shenzhen');
    await writeStatus(primary, 'checkout', { revision: '2', commit: '0f1e2d3c4b5a69788796a5b4c3d2e1f001234567', sequence: 2 });
    await waitApps('guangzhou back', (names) => names.length === 2);

    let open!: () => void;
    gate = new Promise((r) => (open = r));
    try {
      await deleteStatus(primary, 'checkout');                  // 2 of 2 entries at once: beyond the budget
      await deleteStatus(kubeConfig('dr'), 'checkout');
    } finally {
      open();
    }
    await reconciles(4, 503);
    assert.equal((await applications()).size, 2, 'a mass drop is refused, so nothing is deleted');
  });
});
