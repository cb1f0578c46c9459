import assert from 'node:assert/strict';
import { setTransportTimeouts, transportFor } from '../../../src/cluster/api-transport.js';
import { ConfigMapCas, type ConfigMapCasOptions } from '../../../src/cluster/configmap-cas.js';
import { UntypedObjectApi, type WatchEvent } from '../../../src/cluster/untyped-object-api.js';
import { isRelayError } from '../../../src/errors.js';
import { freezeComponent } from '../../../src/sandbox/restart.js';
import { freshNamespace, kubeConfig, sandbox } from '../support/sandbox.js';

/**
 * Every API call is bounded in time, against the real sandbox kube-apiserver frozen with SIGSTOP:
 * its sockets stay open and the kernel keeps accepting, but nothing is answered, the case in which a
 * client without timeouts and connection health waits forever. The bounds here are short test
 * options; the assertions are the error code and generous upper bounds, never durations.
 */
function record(ns: string): ConfigMapCasOptions<number> {
  return {
    namespace: ns,
    name: 'record',
    describe: 'test record',
    labels: { 'rollout-relay.io/test': 'true' },
    annotations: {},
    fromData: (d) => Number(d?.n ?? '0'),
    toData: (n) => ({ n: String(n) }),
    maxAttempts: 5,
    backoffMs: 10,
  };
}

function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
}

describe('cluster: API calls against a frozen kube-apiserver (SIGSTOP) are bounded', function () {
  this.timeout(180_000);
  let thaw: (() => void) | undefined;
  const freeze = (): void => {
    thaw = freezeComponent({ dir: sandbox().dir, context: 'primary', component: 'kube-apiserver' });
  };
  // ALWAYS resume the API server, whatever happened: the rest of the suite needs it.
  afterEach(() => {
    thaw?.();
    thaw = undefined;
  });

  it('a compare-and-swap write in flight fails CLUSTER_UNREACHABLE at its request timeout, naming the request; after SIGCONT the next one succeeds', async () => {
    const ns = await freshNamespace('rr-freeze', ['primary']);
    const kc = kubeConfig('primary');
    // The connection's health check is far away: only the request timeout can end the request.
    setTransportTimeouts(kc, { readIdleTimeoutMs: 600_000, pingTimeoutMs: 600_000 });
    const cas = new ConfigMapCas(kc, record(ns));
    assert.equal(await cas.update(() => ({ write: 1 })), 1);

    setTransportTimeouts(kc, { requestTimeoutMs: 3000 });
    freeze();
    const started = Date.now();
    const err = await failure(cas.update((n) => ({ write: (n ?? 0) + 1 })));
    const took = Date.now() - started;
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, new RegExp(`^reading test record ${ns}/record: GET /api/v1/namespaces/${ns}/configmaps/record got no answer from https://\\S+ within the 3 s request timeout and was cancelled`));
    assert.ok(took < 60_000, `bounded by the request timeout, not by TCP (took ${took} ms)`);

    thaw!();
    setTransportTimeouts(kc, { requestTimeoutMs: 60_000 }); // a busy machine's API server catching up is not what this checks
    assert.equal(await cas.update((n) => ({ write: (n ?? 0) + 1 })), 2, 'the write after SIGCONT lands');
  });

  it('a connection that stops answering fails its PING: the request and the watch on it fail CLUSTER_UNREACHABLE, and after SIGCONT a new connection serves', async () => {
    const ns = await freshNamespace('rr-freeze', ['primary']);
    const kc = kubeConfig('primary');
    // The request timeout is far away: only the connection's health check can end the request and the watch.
    // PING answers from a healthy API server come in well within 5 s even on a busy machine.
    setTransportTimeouts(kc, { requestTimeoutMs: 170_000, readIdleTimeoutMs: 1000, pingTimeoutMs: 5000 });
    const api = UntypedObjectApi.forKubeConfig(kc);
    const list = (await api.listRaw('v1', 'ConfigMap', ns)) as { metadata?: { resourceVersion?: string } };
    const events: WatchEvent[] = [];
    const watch = await api.watchRaw('v1', 'ConfigMap', ns, { resourceVersion: list.metadata?.resourceVersion ?? '0', timeoutSeconds: 600 }, (e) => events.push(e));
    const watchEnd = failure(watch.done);
    await api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before', namespace: ns }, data: {} });
    const sessionsBefore = transportFor(kc).sessionsOpened;
    assert.ok(sessionsBefore >= 1);

    freeze();
    const started = Date.now();
    const err = await failure(api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'during', namespace: ns }, data: {} }));
    const took = Date.now() - started;
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, new RegExp(`^POST /api/v1/namespaces/${ns}/configmaps was cut off: the connection to https://\\S+ failed its health check \\(no answer to an HTTP/2 PING within 5 s`));
    assert.ok(took < 120_000, `bounded by the health check, not the 170 s request timeout (took ${took} ms)`);
    const watchErr = await watchEnd;
    assert.ok(isRelayError(watchErr, 'CLUSTER_UNREACHABLE'), String(watchErr));
    assert.match(watchErr.message, /failed its health check/);

    thaw!();
    const after = await api.read<{ metadata?: { name?: string } }>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before', namespace: ns } });
    assert.equal(after.metadata?.name, 'before');
    assert.equal(transportFor(kc).sessionsOpened, sessionsBefore + 1, 'served over a new connection');
  });
});
