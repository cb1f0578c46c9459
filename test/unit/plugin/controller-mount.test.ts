import assert from 'node:assert/strict';
import { startServer, type RunningServer } from '../../../src/server/http-server.js';
import { RelayMetrics } from '../../../src/server/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { AnswerGuard } from '../../../src/plugin/answer-guard.js';
import { createPluginHandler, PLUGIN_PATH } from '../../../src/plugin/handler.js';

/** The plugin endpoint inside the controller's own HTTP server, behind its own token. */
describe('plugin: mounted in the controller server', () => {
  let srv: RunningServer;
  const PLUGIN = 'plugin-token-0123456789abcdef';
  const NOTIFY = 'notify-token-0123456789abcdef';

  before(async () => {
    const plugin = createPluginHandler({ token: PLUGIN, guard: new AnswerGuard(), read: () => Promise.reject(new Error('dr down')) });
    srv = await startServer({ listen: '127.0.0.1:0', notifyToken: NOTIFY, routes: { [PLUGIN_PATH]: plugin } }, {
      readiness: () => ({ ready: true, detail: {} }),
      notify: () => {},
      applicationStatus: () => Promise.resolve(undefined),
    }, new RelayMetrics({ queueDepth: () => 0, lag: () => [] }), silentLogger());
  });
  after(() => srv.close());

  const post = (token: string) => fetch(`http://127.0.0.1:${srv.port}${PLUGIN_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"applicationSetName":"a","input":{"parameters":{}}}' });

  it('answers on the controller port with the plugin token only (the notify token is refused)', async () => {
    assert.equal((await post(NOTIFY)).status, 403);
    const r = await post(PLUGIN);
    assert.equal(r.status, 503);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'PLUGIN_UNAVAILABLE');
  });

  it('other paths keep their own behaviour', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${srv.port}/healthz`)).status, 200);
    const r = await fetch(`http://127.0.0.1:${srv.port}/nope`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /getparams\.execute/);
  });
});
