import assert from 'node:assert/strict';
import { constants, type ServerHttp2Stream } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeTransport, setTransportTimeouts, transportFor, type ApiResponse } from '../../../src/cluster/api-transport.js';
import { ClusterUnreachableError, wrapTransport } from '../../../src/cluster/api-errors.js';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { enableKeepAlive } from '../../../src/cluster/kubeconfig.js';
import { isRelayError } from '../../../src/errors.js';
import { FreezableRelay, h2Server, kubeConfig, listen, tlsOptions } from '../../helpers/api-test-servers.js';

function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => assert.fail('expected a rejection'), (e: unknown) => e);
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('cluster: API transport timeouts and HTTP/2 health (client-go ReadIdleTimeout / PingTimeout)', function () {
  this.timeout(30_000);
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).reverse().forEach((c) => c()));

  function track<T extends { close(): unknown }>(x: T): T {
    closers.push(() => void x.close());
    return x;
  }

  it('defaults are client-go\'s: 30 s read idle, 15 s ping timeout; 60 s per request', () => {
    const t = new KubeTransport(kubeConfig('https://127.0.0.1:1'));
    assert.deepEqual({ ...t.timeouts }, { requestTimeoutMs: 60_000, readIdleTimeoutMs: 30_000, pingTimeoutMs: 15_000 });
    assert.throws(() => t.configure({ requestTimeoutMs: 0 }), RangeError);
    assert.throws(() => new KubeTransport(kubeConfig('https://127.0.0.1:1'), 'auto', 4, { pingTimeoutMs: Number.NaN }), RangeError);
  });

  it('a request without an answer is cancelled with RST_STREAM (CANCEL) and fails CLUSTER_UNREACHABLE naming method, path and timeout', async () => {
    let hung: ServerHttp2Stream | undefined;
    const server = track(h2Server({ onStream: (s, path) => path.startsWith('/hang') && (hung = s) }));
    const t = track(new KubeTransport(kubeConfig(await listen(server)), 'auto', 4, { requestTimeoutMs: 300 }));
    const err = await failure(t.request({ method: 'PUT', path: '/hang/configmaps/x?fieldManager=rr', contentType: 'application/json', body: '{}' }));
    assert.ok(err instanceof ClusterUnreachableError, String(err));
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'));
    assert.match(err.message, /^PUT \/hang\/configmaps\/x got no answer from https:\/\/127\.0\.0\.1:\d+ within the 0\.3 s request timeout and was cancelled; .*check it/);
    await until(() => hung?.closed === true, 'the server side of the stream to close');
    assert.equal(hung!.rstCode, constants.NGHTTP2_CANCEL, 'the client reset the stream');
    // The connection itself is healthy (its PING is answered): the next request goes through on it
    // (with a bound no busy machine reaches).
    t.configure({ requestTimeoutMs: 60_000 });
    const ok = await t.request({ method: 'GET', path: '/ok' });
    assert.equal(ok.status, 200);
    assert.equal(t.sessionsOpened, 1);
  });

  it('a frozen connection fails its PING: in-flight requests and watches fail CLUSTER_UNREACHABLE, the next request opens a new connection', async () => {
    const server = track(h2Server());
    const relay = track(new FreezableRelay(Number(new URL(await listen(server)).port)));
    // The request timeout is far away: only the health check can end the request.
    const t = track(new KubeTransport(kubeConfig(await relay.listen()), 'auto', 4, { requestTimeoutMs: 60_000, readIdleTimeoutMs: 100, pingTimeoutMs: 2000 }));
    assert.equal((await t.request({ method: 'GET', path: '/ok' })).status, 200);
    const chunks: Buffer[] = [];
    const watch = await t.stream({ method: 'GET', path: '/watch?watch=1' }, (c) => chunks.push(c));
    await until(() => chunks.length > 0, 'the first watch event');
    relay.freeze();
    const started = Date.now();
    const [reqErr, watchErr] = await Promise.all([failure(t.request({ method: 'GET', path: '/hang/a' })), failure(watch.done)]);
    const took = Date.now() - started;
    for (const err of [reqErr, watchErr]) {
      assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
      assert.match(err.message, /failed its health check \(no answer to an HTTP\/2 PING within 2 s/);
    }
    assert.match((reqErr as Error).message, /^GET \/hang\/a was cut off: the connection to https:\/\/127\.0\.0\.1:\d+ failed its health check/);
    assert.ok(took < 20_000, `failed within the health bound, not the 60 s request timeout (took ${took} ms)`);
    relay.thaw();
    const after: ApiResponse = await t.request({ method: 'GET', path: '/ok' });
    assert.equal(after.status, 200);
    assert.equal(t.sessionsOpened, 2, 'a new connection');
  });

  it('an idle healthy connection is pinged and kept', async () => {
    let pings = 0;
    const server = track(h2Server({ onSession: (s) => s.on('ping', () => pings++) }));
    const t = track(new KubeTransport(kubeConfig(await listen(server)), 'auto', 4, { readIdleTimeoutMs: 20, pingTimeoutMs: 10_000 }));
    assert.equal((await t.request({ method: 'GET', path: '/ok' })).status, 200);
    await until(() => pings >= 3, 'three PINGs on the idle connection');
    assert.equal((await t.request({ method: 'GET', path: '/ok' })).status, 200);
    assert.equal(t.sessionsOpened, 1);
  });

  it('a server that accepts TCP but never completes TLS fails the request CLUSTER_UNREACHABLE, and is tried again afterwards', async () => {
    const sockets: Socket[] = [];
    const silent = track(createTcpServer((s) => sockets.push(s.on('error', () => undefined).resume())));
    closers.push(() => sockets.forEach((s) => s.destroy()));
    const t = track(new KubeTransport(kubeConfig(await listen(silent)), 'auto', 4, { requestTimeoutMs: 300 }));
    const err = await failure(t.request({ method: 'GET', path: '/ok' }));
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, /GET \/ok got no answer/);
    await until(() => sockets.length === 1 && sockets[0]!.destroyed, 'the stuck handshake to be given up');
    await failure(t.request({ method: 'GET', path: '/ok' }));
    assert.equal(sockets.length, 2, 'a new connection attempt, not the stuck one remembered');
  });

  it('HTTP/1.1: a request without an answer fails CLUSTER_UNREACHABLE within its timeout', async () => {
    const server = track(createHttpsServer(tlsOptions, () => undefined));
    const t = track(new KubeTransport(kubeConfig(await listen(server)), 'http/1.1', 4, { requestTimeoutMs: 300 }));
    const err = await failure(t.request({ method: 'DELETE', path: '/api/v1/namespaces/x' }));
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, /^DELETE \/api\/v1\/namespaces\/x got no answer .* 0\.3 s request timeout/);
  });

  it('429 retries share the request deadline: throttled until it passes, the call fails CLUSTER_UNREACHABLE', async () => {
    let requests = 0;
    const server = track(h2Server({ onStream: () => requests++ }));
    const kc = kubeConfig(await listen(server));
    setTransportTimeouts(kc, { requestTimeoutMs: 2500 });
    closers.push(() => transportFor(kc).close());
    const err = await failure(UntypedObjectApi.forKubeConfig(kc).getPath('/throttled/x'));
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, /^GET \/throttled\/x was refused with 429 \(too many requests\) \d+ times and waiting to retry would pass the 2\.5 s request timeout/);
    assert.ok(requests >= 1 && requests <= 4, `retried while time was left (${requests} requests)`);
    // A client's own bound wins over the transport's.
    const quick = await failure(UntypedObjectApi.forKubeConfig(kc, { requestTimeoutMs: 200 }).getPath('/hang/y'));
    assert.match((quick as Error).message, /^GET \/hang\/y got no answer .* 0\.2 s request timeout/);
  });

  it('client-node generated APIs (CoreV1Api) on a kubeconfig we loaded are bounded by the same request timeout', async () => {
    const server = track(createHttpsServer(tlsOptions, (req, res) => {
      if (req.url?.includes('/hang')) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ok', namespace: 'ns' } }));
    }));
    const kc = enableKeepAlive(kubeConfig(await listen(server)));
    setTransportTimeouts(kc, { requestTimeoutMs: 300 });
    const core = kc.makeApiClient(CoreV1Api);
    const err = await failure(core.readNamespacedSecret({ name: 'hang', namespace: 'ns' }));
    assert.ok(isRelayError(err, 'CLUSTER_UNREACHABLE'), String(err));
    assert.match(err.message, /^GET \/api\/v1\/namespaces\/ns\/secrets\/hang got no answer from https:\/\/127\.0\.0\.1:\d+ within the 0\.3 s request timeout/);
    setTransportTimeouts(kc, { requestTimeoutMs: 60_000 });
    assert.equal((await core.readNamespacedSecret({ name: 'ok', namespace: 'ns' })).metadata?.name, 'ok');
  });

  it('wrapTransport puts the caller\'s context in front of a coded transport error, once', () => {
    const inner = new ClusterUnreachableError('GET /x got no answer');
    const wrapped = wrapTransport(inner, 'reading source record ns/rr');
    assert.ok(isRelayError(wrapped, 'CLUSTER_UNREACHABLE'));
    assert.equal(wrapped.message, 'reading source record ns/rr: GET /x got no answer');
    assert.equal(wrapTransport(wrapped, 'again'), wrapped);
  });
});
