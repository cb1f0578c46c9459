import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { AnswerGuard } from '../../../src/plugin/answer-guard.js';
import { createPluginHandler } from '../../../src/plugin/handler.js';
import type { PluginParameter } from '../../../src/plugin/params.js';
import { startPluginServer, type RunningPluginServer } from '../../../src/plugin/server.js';
import { GUARD_STATE_KEY, SharedAnswerGuard } from '../../../src/plugin/shared-guard.js';
import { ClusterStatusSource, pluginTarget } from '../../../src/plugin/status-source.js';
import { StatusWriter } from '../../../src/status/writer.js';
import { closedPort } from '../promote/support.js';
import { deleteNamespaceAndWait, kubeConfig, suiteNamespace } from '../support/sandbox.js';

const TOKEN = 'plugin-token-shared-guard-0123456789';

/**
 * The plugin's fail-safe memory (last good answer, drop budget) kept in a ConfigMap in primary,
 * on the real sandbox: DR status ConfigMaps read by the real ClusterStatusSource, the state
 * written with compare-and-swap to the real API server. A "restart" or a second replica is a new
 * handler with a fresh in-memory guard, as a new process would have.
 */
describe('plugin: the guard\'s memory survives a restart and is shared by replicas (ConfigMap in primary)', function () {
  this.timeout(120_000);
  let ns: string;
  const servers: RunningPluginServer[] = [];
  const stateRef = () => ({ namespace: ns, name: 'rollout-relay-plugin-state' });

  /** One process's plugin endpoint: a fresh guard, DR read through `dr` (default: the sandbox's DR). */
  async function replica(opts: { shared?: boolean; dr?: KubeConfig; primary?: KubeConfig } = {}): Promise<string> {
    const primary = opts.primary ?? kubeConfig('primary');
    const guard = new AnswerGuard({ cacheTtlMs: 600_000, maxDropShare: 0.2, confirmReads: 3 });
    const source = new ClusterStatusSource({ primary: kubeConfig('primary'), targets: [pluginTarget('shenzhen', opts.dr ?? kubeConfig('dr'))], namespaces: [ns] });
    const handler = createPluginHandler({
      token: TOKEN,
      guard: opts.shared === false ? guard : new SharedAnswerGuard(guard, primary, stateRef()),
      read: (filter) => source.read(filter),
    });
    const s = await startPluginServer({ listen: '127.0.0.1:0', handler });
    servers.push(s);
    return s.url;
  }

  async function ask(url: string): Promise<{ status: number; apps: string[]; code?: string; cacheAge?: string }> {
    const res = await fetch(`${url}/api/v1/getparams.execute`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ applicationSetName: 'dr-apps', input: { parameters: { namespace: ns } } }),
    });
    const body = (await res.json()) as { output?: { parameters: PluginParameter[] }; error?: { code: string } };
    return {
      status: res.status,
      apps: (body.output?.parameters ?? []).map((p) => p.application).sort(),
      ...(body.error ? { code: body.error.code } : {}),
      ...(res.headers.get('x-rollout-relay-cache-age') !== null ? { cacheAge: res.headers.get('x-rollout-relay-cache-age')! } : {}),
    };
  }

  const completed = (app: string) => new StatusWriter(kubeConfig('dr'), `${ns}/${app}`).update(1, {
    state: 'completed', revision: '1', bundleDigest: `sha256:${'a'.repeat(64)}`, sourceCluster: 'shanghai', podTemplateHash: 'h1', commit: 'c1',
  });

  /** A copy of the sandbox's context whose API server is a closed loopback port. */
  async function unreachable(context: 'primary' | 'dr'): Promise<KubeConfig> {
    const kc = kubeConfig(context);
    const port = await closedPort();
    const cluster = kc.getCurrentCluster()!;
    const copy = new KubeConfig();
    copy.loadFromOptions({
      clusters: [{ ...cluster, server: `https://127.0.0.1:${port}` }], users: kc.users, currentContext: kc.currentContext,
      contexts: kc.contexts.filter((c) => c.name === kc.currentContext),
    });
    return copy;
  }

  before(async () => {
    ns = await suiteNamespace('rr-plugin-state', ['primary', 'dr']);
    await Promise.all(['web', 'api', 'cart', 'pay', 'mail'].map(completed));
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    if (ns) await Promise.all([deleteNamespaceAndWait('primary', ns), deleteNamespaceAndWait('dr', ns)]);
  });

  it('remembers the answer in the ConfigMap; after a restart a drop beyond maxDropShare is still refused (503)', async () => {
    const first = await replica();
    assert.deepEqual(await ask(first), { status: 200, apps: ['api', 'cart', 'mail', 'pay', 'web'], cacheAge: '0' });
    const cm = await kubeConfig('primary').makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: 'rollout-relay-plugin-state', namespace: ns });
    assert.match(cm.data?.[GUARD_STATE_KEY] ?? '', /"application":"mail"/);

    // Two of five status ConfigMaps go away (40 % > 20 %), and the plugin restarts.
    const core = kubeConfig('dr').makeApiClient(CoreV1Api);
    await core.deleteNamespacedConfigMap({ name: 'rollout-relay-status-mail', namespace: ns });
    await core.deleteNamespacedConfigMap({ name: 'rollout-relay-status-pay', namespace: ns });
    const restarted = await replica();
    assert.deepEqual(await ask(restarted), { status: 503, apps: [], code: 'DROP_BUDGET_EXCEEDED' });
    // The same restart with memory only (as before) would have passed the drop at once.
    assert.deepEqual(await ask(await replica({ shared: false })), { status: 200, apps: ['api', 'cart', 'web'], cacheAge: '0' });
  });

  it('counts consecutive reads across replicas: the third agreeing read, on any replica, passes the drop', async () => {
    const a = await replica();
    const b = await replica();
    // The restarted replica of the first test counted read 1; these are reads 2 and 3.
    assert.deepEqual(await ask(a), { status: 503, apps: [], code: 'DROP_BUDGET_EXCEEDED' });
    assert.deepEqual(await ask(b), { status: 200, apps: ['api', 'cart', 'web'], cacheAge: '0' });
    assert.deepEqual(await ask(a), { status: 200, apps: ['api', 'cart', 'web'], cacheAge: '0' }, 'a knows the confirmed answer');
  });

  it('a new replica with DR unreachable serves the last good answer from the ConfigMap, with its age', async () => {
    const cut = await replica({ dr: await unreachable('dr') });
    const r = await ask(cut);
    assert.equal(r.status, 200);
    assert.deepEqual(r.apps, ['api', 'cart', 'web']);
    assert.ok(Number(r.cacheAge) >= 0, `cache age header ${r.cacheAge}`);
  });

  it('when the ConfigMap cannot be reached, decides on its own memory instead of failing', async () => {
    const alone = await replica({ primary: await unreachable('primary') });
    assert.deepEqual(await ask(alone), { status: 200, apps: ['api', 'cart', 'web'], cacheAge: '0' });
  });
});
