import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { createClusterPki } from '../../../src/sandbox/pki.js';
import { AnswerGuard } from '../../../src/plugin/answer-guard.js';
import { createPluginHandler, PLUGIN_PATH, type PluginHandlerOptions } from '../../../src/plugin/handler.js';
import type { PluginFilter, PluginParameter } from '../../../src/plugin/params.js';
import { startPluginServer, type RunningPluginServer } from '../../../src/plugin/server.js';

const TOKEN = 'plugin-token-0123456789';
const ENTRY: PluginParameter = {
  cluster: 'shenzhen', server: 'https://dr:6443', namespace: 'shop', application: 'checkout', revision: '2', commit: 'c0ffee',
  bundleDigest: 'sha256:aa', sequence: 2, keyIds: '', hotUpdateStatus: 'completed', inSync: true, cacheAgeSeconds: 0,
};
const BODY = { applicationSetName: 'checkout-dr', input: { parameters: { namespace: 'shop', application: 'checkout' } } };

/** The handler on a real loopback server, reading through a replaceable in-memory reader. */
describe('plugin: HTTP endpoint', function () {
  let server: RunningPluginServer;
  let reader: (filter: PluginFilter) => Promise<PluginParameter[]>;
  const seen: PluginFilter[] = [];

  async function start(extra: Partial<PluginHandlerOptions> = {}, tls?: { cert: string; key: string }): Promise<RunningPluginServer> {
    const handler = createPluginHandler({
      token: TOKEN,
      guard: new AnswerGuard({ cacheTtlMs: 60_000 }),
      read: (filter) => { seen.push(filter); return reader(filter); },
      maxBodyBytes: 1024,
      readTimeoutMs: 300,
      ...extra,
    });
    return startPluginServer({ listen: '127.0.0.1:0', handler, ...(tls ? { tls } : {}) });
  }

  beforeEach(async () => {
    reader = () => Promise.resolve([ENTRY]);
    seen.length = 0;
    server = await start();
  });
  afterEach(() => server.close());

  async function post(body: unknown, token: string | null = TOKEN, path = PLUGIN_PATH, method = 'POST') {
    const res = await fetch(server.url + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
  }

  it('answers {output: {parameters}} with one entry per target, passing the filter', async () => {
    const r = await post(BODY);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { output: { parameters: [ENTRY] } });
    assert.equal(r.headers.get('x-rollout-relay-cache-age'), '0');
    assert.deepEqual(seen, [{ namespace: 'shop', application: 'checkout' }]);
  });

  it('UNAUTHENTICATED 401 without a token; FORBIDDEN 403 with a wrong one (the reader is never called)', async () => {
    const none = await post(BODY, null);
    assert.equal(none.status, 401);
    assert.equal((none.json.error as { code: string }).code, 'UNAUTHENTICATED');
    for (const wrong of ['nope', TOKEN + 'x', TOKEN.slice(0, -1)]) {
      const r = await post(BODY, wrong);
      assert.equal(r.status, 403);
      assert.equal((r.json.error as { code: string }).code, 'FORBIDDEN');
    }
    assert.equal(seen.length, 0);
  });

  it('PLUGIN_UNAVAILABLE 503 when a target cannot be read and nothing is cached (never an empty 200)', async () => {
    reader = () => Promise.reject(new Error('connect ECONNREFUSED dr'));
    const r = await post(BODY);
    assert.equal(r.status, 503);
    const err = r.json.error as { code: string; message: string };
    assert.equal(err.code, 'PLUGIN_UNAVAILABLE');
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(r.json.output, undefined);
  });

  it('serves the cached answer with cacheAgeSeconds when a read fails or is too slow', async () => {
    assert.equal((await post(BODY)).status, 200);
    reader = () => Promise.reject(new Error('dr down'));
    const r = await post(BODY);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-rollout-relay-cache-age'), '0');
    assert.deepEqual((r.json.output as { parameters: PluginParameter[] }).parameters, [ENTRY]);
    reader = () => new Promise(() => {});   // never answers: the read timeout (300 ms) applies
    const slow = await post(BODY);
    assert.equal(slow.status, 200);
    assert.deepEqual((slow.json.output as { parameters: PluginParameter[] }).parameters, [ENTRY]);
  });

  it('a read that never answers with nothing cached ends in 503 after the read timeout', async () => {
    reader = () => new Promise(() => {});
    const t0 = Date.now();
    const r = await post(BODY);
    assert.equal(r.status, 503);
    assert.match((r.json.error as { message: string }).message, /longer than 300 ms/);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('DROP_BUDGET_EXCEEDED 503 when an answer would drop too many clusters', async () => {
    reader = () => Promise.resolve([ENTRY, { ...ENTRY, cluster: 'guangzhou' }]);
    assert.equal((await post(BODY)).status, 200);
    reader = () => Promise.resolve([ENTRY]);
    const r = await post(BODY);
    assert.equal(r.status, 503);
    assert.equal((r.json.error as { code: string }).code, 'DROP_BUDGET_EXCEEDED');
  });

  it('TOO_LARGE 413 on a body over the limit; MALFORMED 400 on bad JSON or input; 405 on GET; 404 elsewhere', async () => {
    const big = await post({ ...BODY, pad: 'x'.repeat(5000) });
    assert.equal(big.status, 413);
    assert.equal((big.json.error as { code: string }).code, 'TOO_LARGE');
    assert.equal((await post('{not json')).status, 400);
    assert.equal((await post({ input: { parameters: { cluster: 'x' } } })).status, 400);
    const get = await post(undefined, TOKEN, PLUGIN_PATH, 'GET');
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await post(BODY, TOKEN, '/api/v1/other')).status, 404);
    assert.equal(seen.length, 0);
  });

  it('serves HTTPS when given a certificate (verified against its CA)', async () => {
    const pki = createClusterPki('plugin-test', '10.0.0.1');
    const tlsServer = await start({}, { cert: pki.apiserver.certPem, key: pki.apiserver.keyPem });
    try {
      assert.match(tlsServer.url, /^https:/);
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const body = JSON.stringify(BODY);
        const req = httpsRequest(tlsServer.url + PLUGIN_PATH, { method: 'POST', ca: pki.ca.certPem, headers: { authorization: `Bearer ${TOKEN}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
      assert.deepEqual(JSON.parse(text), { output: { parameters: [ENTRY] } });
    } finally {
      await tlsServer.close();
    }
  });

  it('refuses to start without a token', () => {
    assert.throws(() => createPluginHandler({ token: '', guard: new AnswerGuard(), read: () => Promise.resolve([]) }), /CONFIG_INVALID|token is empty/);
  });
});
