import assert from 'node:assert/strict';
import { Nginx, VersionServer } from '../support/peers.js';
import { colourRouting, hookContext, hooks, NEW, noColourRouting, OLD } from './support.js';

/**
 * Traffic colouring through a real nginx routing by the colour header (x-traffic-color) to two
 * node:http servers standing for the old and the new DR version.
 */
const colourHook = (url: string, extra: Record<string, unknown> = {}): unknown => ({
  name: 'colour', type: 'traffic-colour', url: `${url}/orders`,
  header: { name: 'x-traffic-color', value: '{{podTemplateHash}}' }, expect: { header: 'x-version', value: '{{podTemplateHash}}' },
  requests: 50, minShare: 1.0, timeout: '20s', ...extra,
});

describe('hooks: traffic colouring through a real nginx', () => {
  let oldV: VersionServer;
  let newV: VersionServer;
  let nginx: Nginx | undefined;

  beforeEach(async () => {
    oldV = await VersionServer.start(OLD);
    newV = await VersionServer.start(NEW);
  });
  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    await Promise.all([oldV.stop(), newV.stop()]);
  });

  it('new version routed by its colour → pass, 50/50 answered by it', async () => {
    nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: OLD, to: 'old' }, { colour: NEW, to: 'new' }]));
    const before = newV.requests;
    const [r] = await hooks([colourHook(nginx.url)]).run(hookContext());
    assert.equal(r!.passed, true, r!.message);
    assert.equal(r!.type, 'traffic-colour');
    assert.equal(r!.observed, '1.000 (50/50)');
    assert.equal(r!.revision, '7');
    assert.match(r!.message, /nonexistent colour was refused \(HTTP 404\)/);
    assert.equal(newV.requests - before, 50, 'every probe reached the new version through nginx');
  });

  it('header route removed from the nginx config and reloaded → fail, although every request reaches the new version', async () => {
    nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: OLD, to: 'old' }, { colour: NEW, to: 'new' }]));
    const runner = hooks([colourHook(nginx.url)]);
    assert.equal((await runner.run(hookContext()))[0]!.passed, true);
    await nginx.reload(noColourRouting(newV.port));
    const [r] = await runner.run(hookContext());
    assert.equal(r!.passed, false, r!.message);
    assert.equal(r!.observed, 'colour not routed');
    assert.match(r!.message, /names no version, was answered by the expected version 6d4f8b7c9/);
  });

  it('new version answering 5xx for 10 % → fail at minShare 1.0 (no retries hide a 5xx); passes at minShare 0.9', async () => {
    await newV.stop();
    newV = await VersionServer.start(NEW, { errorEvery: 10 });
    nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: OLD, to: 'old' }, { colour: NEW, to: 'new' }]));
    const [r] = await hooks([colourHook(nginx.url)]).run(hookContext());
    assert.equal(r!.passed, false, r!.message);
    assert.equal(r!.observed, '0.900 (45/50)');
    assert.match(r!.message, /5 HTTP 500/);
    const [lenient] = await hooks([colourHook(nginx.url, { minShare: 0.9 })]).run(hookContext());
    assert.equal(lenient!.passed, true, lenient!.message);
  });

  it('never passes on stale state: the colour answered by the previous version fails the gate for the new one', async () => {
    // The new colour still routes to the old pods (a stale route, or DR still runs the old version).
    nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: OLD, to: 'old' }, { colour: NEW, to: 'old' }]));
    const [r] = await hooks([colourHook(nginx.url)]).run(hookContext());
    assert.equal(r!.passed, false, r!.message);
    assert.equal(r!.observed, '0.000 (0/50)');
    assert.match(r!.message, new RegExp(`50 answered by version ${OLD}`));
    // And the old revision's own check still passes against the same routing: the gate tells them apart.
    const [old] = await hooks([colourHook(nginx.url)]).run(hookContext({ podTemplateHash: OLD, revision: '6' }));
    assert.equal(old!.passed, true, old!.message);
  });

  it('an entry point that echoes the requested colour as its version → fail (it would pass any colour)', async () => {
    nginx = await Nginx.start(['server {', '  listen 127.0.0.1:PORT;', '  location / { add_header x-version $http_x_traffic_color always; return 200 "ok\\n"; }', '}'].join('\n'));
    const [r] = await hooks([colourHook(nginx.url)]).run(hookContext());
    assert.equal(r!.passed, false, r!.message);
    assert.equal(r!.observed, 'colour echoed');
  });

  it('connection errors count as failures: the entry point is down → fail', async () => {
    nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: NEW, to: 'new' }]));
    const url = nginx.url;
    await nginx.stop();
    nginx = undefined;
    const [r] = await hooks([colourHook(url)]).run(hookContext());
    assert.equal(r!.passed, false);
    assert.equal(r!.observed, 'unreachable');
    assert.match(r!.message, /ECONNREFUSED/);
  });

  it('reads the version from the body when configured (expect.body)', async () => {
    nginx = await Nginx.start(colourRouting(oldV.port, newV.port, [{ colour: NEW, to: 'new' }]));
    const [r] = await hooks([colourHook(nginx.url, { expect: { body: 'served by version ([0-9a-z]+)', value: '{{podTemplateHash}}' }, requests: 10 })]).run(hookContext());
    assert.equal(r!.passed, true, r!.message);
    assert.equal(r!.observed, '1.000 (10/10)');
  });
});
