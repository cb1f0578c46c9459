import assert from 'node:assert/strict';
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeTransport } from '../../../src/cluster/api-transport.js';
import { enableKeepAlive } from '../../../src/cluster/kubeconfig.js';
import { apiStatusCode } from '../../../src/cluster/api-errors.js';
import { createClusterPki, createCa } from '../../../src/sandbox/pki.js';
import { renderKubeconfig } from '../../../src/sandbox/kubeconfig.js';

// Real TLS servers in this process, with the sandbox's PKI: the server requires a client
// certificate from the same CA, exactly as the sandbox's kube-apiserver does.
const pki = createClusterPki('transport', '10.96.0.1');
const client = pki.clients.admin!;

function kubeConfig(server: string, caPem = pki.ca.certPem): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(renderKubeconfig([{ context: 't', server, caPem, client }]));
  return kc;
}

interface Seen {
  connections: number;
  requests: { method: string; path: string; body: string; contentType?: string; clientCn?: string; protocol: string }[];
}

const tlsOptions = { cert: pki.apiserver.certPem, key: pki.apiserver.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true };

/** What the handler needs of an HTTP/1.1 or HTTP/2 compatibility request and response. */
interface Req {
  method?: string;
  url?: string;
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
  socket: unknown;
  on(event: string, fn: (c: Buffer) => void): unknown;
}
interface Res {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

function handler(seen: Seen) {
  return (req: Req, res: Res): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket as TLSSocket;
      seen.requests.push({
        method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks).toString(), protocol: `HTTP/${req.httpVersion}`,
        ...(req.headers['content-type'] ? { contentType: String(req.headers['content-type']) } : {}),
        clientCn: String(socket.getPeerCertificate?.().subject?.CN ?? ''),
      });
      if (req.url?.startsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'not here' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ echo: req.url, n: seen.requests.length }));
    });
  };
}

async function listen(server: Http2SecureServer | HttpsServer): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('cluster: API transport (HTTP/2, one connection, TLS verified)', function () {
  this.timeout(20_000);
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((c) => c()));

  function h2Server(seen: Seen, onSession?: (s: Http2Session) => void): Http2SecureServer {
    const server = createSecureServer({ ...tlsOptions, allowHTTP1: true }, handler(seen));
    server.on('secureConnection', () => seen.connections++);
    if (onSession) server.on('session', onSession);
    closers.push(() => server.close());
    return server;
  }

  it('speaks HTTP/2 when the server offers it: 200 concurrent requests over one TLS connection, client certificate presented', async () => {
    const seen: Seen = { connections: 0, requests: [] };
    const t = new KubeTransport(kubeConfig(await listen(h2Server(seen))));
    closers.push(() => t.close());
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => t.request({ method: i % 2 ? 'PATCH' : 'GET', path: `/api/v1/x/${i}?dryRun=All`, ...(i % 2 ? { contentType: 'application/apply-patch+yaml', body: `{"i":${i}}` } : {}) })));
    assert.equal(await t.protocol(), 'h2');
    assert.equal(seen.connections, 1, 'one TLS connection for every request');
    assert.ok(results.every((r, i) => r.status === 200 && JSON.parse(r.body).echo === `/api/v1/x/${i}?dryRun=All`));
    assert.ok(seen.requests.every((r) => r.protocol === 'HTTP/2.0' && r.clientCn === 'sandbox-admin'));
    const patch = seen.requests.find((r) => r.path === '/api/v1/x/1?dryRun=All')!;
    assert.equal(patch.body, '{"i":1}');
    assert.equal(patch.contentType, 'application/apply-patch+yaml');
  });

  it('returns error statuses with their body (the caller decides), never as a transport error', async () => {
    const seen: Seen = { connections: 0, requests: [] };
    const t = new KubeTransport(kubeConfig(await listen(h2Server(seen))));
    closers.push(() => t.close());
    const r = await t.request({ method: 'GET', path: '/missing' });
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.body).reason, 'NotFound');
    assert.equal(r.headers['content-type'], 'application/json');
  });

  it('reconnects after the server sends GOAWAY (connection age limit) and loses no request', async () => {
    const seen: Seen = { connections: 0, requests: [] };
    let sessions = 0;
    const server = h2Server(seen, (s) => {
      sessions++;
      // Every session ends after its third stream, like an API server closing old connections.
      let streams = 0;
      s.on('stream', () => {
        if (++streams === 3) setImmediate(() => s.goaway());
      });
    });
    const t = new KubeTransport(kubeConfig(await listen(server)));
    closers.push(() => t.close());
    for (let i = 0; i < 10; i++) {
      const r = await t.request({ method: 'GET', path: `/seq/${i}` });
      assert.equal(r.status, 200);
    }
    assert.equal(seen.requests.length, 10);
    assert.ok(sessions >= 3, `reconnected (${sessions} sessions)`);
  });

  it('falls back to HTTP/1.1 keep-alive when the server does not offer HTTP/2', async () => {
    const seen: Seen = { connections: 0, requests: [] };
    const server = createHttpsServer(tlsOptions, handler(seen));
    server.on('secureConnection', () => seen.connections++);
    closers.push(() => server.close());
    const t = new KubeTransport(kubeConfig(await listen(server)), 'auto', 4);
    closers.push(() => t.close());
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.request({ method: 'POST', path: `/p/${i}`, contentType: 'application/json', body: `{"i":${i}}` })));
    assert.equal(await t.protocol(), 'http/1.1');
    assert.ok(results.every((r) => r.status === 200));
    assert.ok(seen.requests.every((r) => r.protocol === 'HTTP/1.1' && r.clientCn === 'sandbox-admin'));
    assert.ok(seen.connections <= 5, `keep-alive pool of 4 (+1 ALPN probe), saw ${seen.connections} connections`);
  });

  it('keeps TLS verification on: a server certificate from another CA is refused as a transport error', async () => {
    const seen: Seen = { connections: 0, requests: [] };
    const url = await listen(h2Server(seen));
    const t = new KubeTransport(kubeConfig(url, createCa('someone-else').certPem));
    closers.push(() => t.close());
    const err = await t.request({ method: 'GET', path: '/x' }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error, 'refused');
    assert.equal(apiStatusCode(err), undefined);
    assert.match(String((err as NodeJS.ErrnoException).code), /CERT|SIGNATURE|ISSUER/);
    assert.equal(seen.requests.length, 0);
  });

  it('a refused connection is retried on the next request, not remembered', async () => {
    const seen: Seen = { connections: 0, requests: [] };
    const server = h2Server(seen);
    const url = await listen(server);
    const port = Number(new URL(url).port);
    await new Promise<void>((r) => server.close(() => r()));
    const t = new KubeTransport(kubeConfig(url));
    closers.push(() => t.close());
    await assert.rejects(t.request({ method: 'GET', path: '/x' }), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    const again = h2Server(seen);
    await new Promise<void>((r) => again.listen(port, '127.0.0.1', r));
    assert.equal((await t.request({ method: 'GET', path: '/x' })).status, 200);
  });

  it('enableKeepAlive: client-node reuses one connection pool per TLS identity instead of one per request', () => {
    const kc = enableKeepAlive(kubeConfig('https://127.0.0.1:1'));
    const make = (kc as unknown as { createDispatcher: (c: unknown, o: Record<string, unknown>) => unknown }).createDispatcher.bind(kc);
    const cluster = kc.getCurrentCluster();
    const opts = { ca: Buffer.from(pki.ca.certPem), cert: Buffer.from(client.certPem), key: Buffer.from(client.keyPem) };
    const a = make(cluster, opts);
    assert.ok(a, 'a dispatcher');
    assert.equal(make(cluster, { ...opts, cert: Buffer.from(client.certPem) }), a, 'same material, same pool');
    assert.notEqual(make(cluster, { ...opts, cert: Buffer.from(pki.clients['kube-controller-manager']!.certPem) }), a, 'a rotated certificate gets a new pool');
    assert.equal(enableKeepAlive(kc), kc);
  });
});
