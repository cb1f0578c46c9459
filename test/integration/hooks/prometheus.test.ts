import assert from 'node:assert/strict';
import { Exporter, Prometheus } from '../support/peers.js';
import { hookContext, hooks, NEW, OLD } from './support.js';

/**
 * Prometheus gates against a real Prometheus scraping an exporter the test runs, with per-version
 * request and error counters (the seed's 5xx ratio rule).
 */
const ERROR_RATIO = 'sum by (version) (rate(http_requests_total{code=~"5..",version="{{podTemplateHash}}"}[5s])) / sum by (version) (rate(http_requests_total{version="{{podTemplateHash}}"}[5s]))';

const gate = (url: string, extra: Record<string, unknown> = {}): unknown => ({
  name: 'errors', type: 'prometheus', url, query: ERROR_RATIO, pass: '< 0.005', noData: 'fail', interval: '500ms', timeout: '6s', ...extra,
});

describe('hooks: Prometheus gates against a real Prometheus', () => {
  let exporter: Exporter;
  let prom: Prometheus;

  before(async () => {
    // The new version is healthy, the previous one errs 20 %, a third ("bad") errs 5 %.
    exporter = await Exporter.start({ [NEW]: { rps: 50, errorRatio: 0 }, [OLD]: { rps: 50, errorRatio: 0.2 }, bad: { rps: 50, errorRatio: 0.05 } });
    prom = await Prometheus.start([exporter.target]);
    await prom.waitScraped(3);
  });
  after(async () => {
    await prom?.stop();
    await exporter?.stop();
  });

  it('passes when the new version\'s 5xx ratio is under the threshold, and names the revision', async () => {
    const [r] = await hooks([gate(prom.url)]).run(hookContext());
    assert.equal(r!.passed, true, r!.message);
    assert.equal(r!.type, 'prometheus');
    assert.equal(Number(r!.observed), 0);
    assert.equal(r!.revision, '7');
    assert.match(r!.message, new RegExp(`version="${NEW}"`));
  });

  it('fails above the threshold once its timeout is up (it re-queries until then)', async () => {
    const t0 = Date.now();
    const [r] = await hooks([gate(prom.url)]).run(hookContext({ podTemplateHash: 'bad' }));
    assert.equal(r!.passed, false, r!.message);
    assert.ok(Math.abs(Number(r!.observed) - 0.05) < 0.01, r!.observed);
    assert.match(r!.message, /is not < 0.005/);
    assert.ok(Date.now() - t0 >= 5000, 'judged only when the timeout ran out');
  });

  it('no data → fail (noData: fail, judged at timeout); noData: pass passes', async () => {
    const [r] = await hooks([gate(prom.url, { timeout: '3s' })]).run(hookContext({ podTemplateHash: 'absent0' }));
    assert.equal(r!.passed, false, r!.message);
    assert.equal(r!.observed, 'no data');
    assert.match(r!.message, /noData: fail/);
    const [lenient] = await hooks([gate(prom.url, { timeout: '2s', noData: 'pass' })]).run(hookContext({ podTemplateHash: 'absent0' }));
    assert.equal(lenient!.passed, true, lenient!.message);
  });

  it('never passes on stale state: a series for the previous revision fails the gate for the new one', async () => {
    // A query that does not filter by version: only the old version's series pass the threshold...
    const unfiltered = 'sum by (version) (rate(http_requests_total{code=~"5..",version!="bad"}[5s])) / sum by (version) (rate(http_requests_total{version!="bad"}[5s])) < 0.5';
    const [both] = await hooks([gate(prom.url, { query: unfiltered, pass: '<= 0.3', timeout: '2s' })]).run(hookContext());
    assert.equal(both!.passed, false, both!.message);
    assert.match(both!.message, new RegExp(`version="${OLD}", not the expected "${NEW}" \\(stale\\)`));
    // ...and a query pinned to the previous version answers for it alone: still not the new one.
    const stale = `rate(http_requests_total{code="200",version="${OLD}"}[5s])`;
    const [r] = await hooks([gate(prom.url, { query: stale, pass: '> 0', timeout: '2s' })]).run(hookContext());
    assert.equal(r!.passed, false, r!.message);
    assert.match(r!.message, /stale/);
    // The same gate for the old revision passes: the label check is what tells them apart.
    const [old] = await hooks([gate(prom.url, { query: stale, pass: '> 0', timeout: '2s' })]).run(hookContext({ podTemplateHash: OLD }));
    assert.equal(old!.passed, true, old!.message);
  });

  it('a query Prometheus refuses fails at once, without waiting out the timeout', async () => {
    const t0 = Date.now();
    const [r] = await hooks([gate(prom.url, { query: 'sum(rate(http_requests_total[5s]', timeout: '20s' })]).run(hookContext());
    assert.equal(r!.passed, false);
    assert.equal(r!.observed, 'query refused');
    assert.ok(Date.now() - t0 < 5000);
  });
});
