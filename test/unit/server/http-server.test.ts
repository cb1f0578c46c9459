import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer, parseListen, type RunningServer } from '../../../src/server/http-server.js';
import { checkBearer, readTokenFile } from '../../../src/server/auth.js';
import { RelayMetrics } from '../../../src/server/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { isRelayError } from '../../../src/errors.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NOTIFY = 'notify-token-0123456789abcdef';
const STATUS = 'status-token-0123456789abcdef';

function call(srv: RunningServer, method: string, path: string, opts: { token?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, method, path, headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('server/http-server', () => {
  let srv: RunningServer;
  const notified: { namespace: string; name: string }[] = [];
  let ready = false;
  const metrics = new RelayMetrics({ queueDepth: () => 3, lag: () => [{ application: 'shop/a', target: 'shenzhen', seconds: 4.5 }] });

  before(async () => {
    srv = await startServer({ listen: '127.0.0.1:0', notifyToken: NOTIFY, statusToken: STATUS }, {
      readiness: () => ({ ready, detail: { leader: ready ? 'me' : null } }),
      notify: (ref) => notified.push(ref),
      applicationStatus: async (ns, name) => (ns === 'shop' && name === 'a' ? { application: 'shop/a', targets: [{ target: 'shenzhen', hotUpdateStatus: 'completed', inSync: true, lagSeconds: 0 }] } : undefined),
    }, metrics, silentLogger());
  });
  after(async () => srv.close());

  it('/healthz is always 200; /readyz follows readiness with JSON detail', async () => {
    assert.equal((await call(srv, 'GET', '/healthz')).status, 200);
    const notReady = await call(srv, 'GET', '/readyz');
    assert.equal(notReady.status, 503);
    assert.deepEqual(JSON.parse(notReady.body), { ready: false, leader: null });
    ready = true;
    assert.equal((await call(srv, 'GET', '/readyz')).status, 200);
  });

  it('notify: 401 without a token, 403 with a wrong one (or the status token), 202 with the right one', async () => {
    const body = JSON.stringify({ namespace: 'shop', name: 'checkout' });
    const none = await call(srv, 'POST', '/api/v1/notify', { body });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { body, token: 'wrong-token-0123456789' })).status, 403);
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { body, token: STATUS })).status, 403, 'each endpoint family has its own token');
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { body, headers: { Authorization: `Basic ${NOTIFY}` } })).status, 401);
    assert.equal(notified.length, 0, 'nothing nudged before authentication');
    const ok = await call(srv, 'POST', '/api/v1/notify', { body, token: NOTIFY });
    assert.equal(ok.status, 202);
    assert.deepEqual(notified, [{ namespace: 'shop', name: 'checkout' }]);
  });

  it('notify: 413 on a large body (declared or streamed), 400 on a malformed one, 405 on GET', async () => {
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { token: NOTIFY, body: Buffer.alloc(5000, 'a') })).status, 413);
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { token: NOTIFY, body: Buffer.alloc(5000, 'a'), headers: { 'Transfer-Encoding': 'chunked' } })).status, 413);
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { token: NOTIFY, body: '{"namespace": "Shop!", "name": "x"}' })).status, 400);
    assert.equal((await call(srv, 'POST', '/api/v1/notify', { token: NOTIFY, body: 'not json' })).status, 400);
    assert.equal((await call(srv, 'GET', '/api/v1/notify', { token: NOTIFY })).status, 405);
  });

  it('read API: its own token; 200 with the per-target view, 404 for an unknown application', async () => {
    assert.equal((await call(srv, 'GET', '/api/v1/applications/shop/a')).status, 401);
    assert.equal((await call(srv, 'GET', '/api/v1/applications/shop/a', { token: NOTIFY })).status, 403);
    const ok = await call(srv, 'GET', '/api/v1/applications/shop/a', { token: STATUS });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).targets[0].inSync, true);
    assert.equal((await call(srv, 'GET', '/api/v1/applications/shop/b', { token: STATUS })).status, 404);
  });

  it('/metrics serves the design §10 names', async () => {
    metrics.onPhase('export', 120);
    metrics.onPhase('apply', 800);
    metrics.onTargetOutcome('shop/a', { target: 'shenzhen', state: 'completed', message: '', seconds: 1 });
    metrics.onTargetOutcome('shop/a', { target: 'beijing', state: 'paused', code: 'UNKNOWN_KEY', message: '', seconds: 0.2 });
    metrics.onVerifyFailure('UNKNOWN_KEY');
    const text = (await call(srv, 'GET', '/metrics')).body;
    for (const line of [
      'rollout_relay_promotions_total{application="shop/a",target="shenzhen",result="completed"} 1',
      'rollout_relay_promotions_total{application="shop/a",target="beijing",result="paused"} 1',
      'rollout_relay_verify_failures_total{code="UNKNOWN_KEY"} 1',
      'rollout_relay_phase_duration_seconds_count{phase="apply"} 1',
      'rollout_relay_queue_depth 3',
      'rollout_relay_dr_lag_seconds{application="shop/a",target="shenzhen"} 4.5',
    ]) assert.ok(text.includes(line), `missing: ${line}`);
    assert.match(text, /rollout_relay_last_completed_timestamp_seconds\{application="shop\/a",target="shenzhen"\} \d{10}/);
  });

  it('parses listen addresses and refuses bad ones with CONFIG_INVALID', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen(':9090'), { host: '0.0.0.0', port: 9090 });
    assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
    assert.throws(() => parseListen('8080'), (e) => isRelayError(e, 'CONFIG_INVALID'));
  });

  it('bearer check and token files', () => {
    assert.equal(checkBearer(`Bearer ${NOTIFY}`, NOTIFY), 'ok');
    assert.equal(checkBearer(`bearer ${NOTIFY}x`, NOTIFY), 'wrong');
    assert.equal(checkBearer(undefined, NOTIFY), 'missing');
    const dir = mkdtempSync(join(tmpdir(), 'rr-token-'));
    writeFileSync(join(dir, 't'), `${NOTIFY}\n`);
    assert.equal(readTokenFile(join(dir, 't'), 'server.tokenFile'), NOTIFY);
    writeFileSync(join(dir, 'short'), 'abc\n');
    assert.throws(() => readTokenFile(join(dir, 'short'), 'server.tokenFile'), (e) => isRelayError(e, 'CONFIG_INVALID'));
    assert.throws(() => readTokenFile(join(dir, 'missing'), 'server.tokenFile'), (e) => isRelayError(e, 'CONFIG_INVALID'));
  });
});
