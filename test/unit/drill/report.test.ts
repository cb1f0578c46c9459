import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drillReportJson, parseDrillReport, renderReports } from '../../../src/drill/report.js';
import { isRelayError } from '../../../src/errors.js';
import { failingReport, passingReport } from './report-fixtures.js';

describe('drill/report: the JSON report and its schema', () => {
  it('round-trips a passing and a failing report', () => {
    for (const r of [passingReport(), failingReport()]) assert.deepEqual(parseDrillReport(JSON.parse(drillReportJson(r))), r);
  });

  it('writes keys in schema order whatever order they were built in, pretty, newline-terminated', () => {
    const r = passingReport();
    const shuffled = Object.fromEntries(Object.entries(r).reverse()) as unknown as typeof r;
    const text = drillReportJson(shuffled);
    assert.equal(text, drillReportJson(r));
    assert.ok(text.startsWith('{\n  "apiVersion": "rollout-relay.io/v1",\n  "kind": "DrillReport",'));
    assert.ok(text.endsWith('}\n'));
  });

  it('refuses a wrong field with MALFORMED naming the field', () => {
    const bad = { ...passingReport(), rtoSeconds: '6 s' };
    assert.throws(() => parseDrillReport(bad), (err: unknown) => isRelayError(err, 'MALFORMED') && /rtoSeconds/.test(err.message));
    const step = passingReport();
    (step.steps[1] as { result: string }).result = 'ok';
    assert.throws(() => parseDrillReport(step), (err: unknown) => isRelayError(err, 'MALFORMED') && /steps\.1\.result/.test(err.message));
    assert.throws(() => parseDrillReport({ ...passingReport(), extra: 1 }), (err: unknown) => isRelayError(err, 'MALFORMED') && /extra/.test(err.message));
    assert.throws(() => parseDrillReport(null), (err: unknown) => isRelayError(err, 'MALFORMED'));
  });

  it('renderReports writes drill-report.json into a new directory and returns its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-drill-'));
    try {
      const out = join(dir, 'reports', 'run-1');
      const paths = renderReports(passingReport(), ['json'], out);
      assert.deepEqual(paths, [join(out, 'drill-report.json')]);
      assert.equal(readFileSync(paths[0]!, 'utf8'), drillReportJson(passingReport()));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
