import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { drillReportJson, drillReportJsonSchemaText, parseDrillReport, parseReportFormats, renderReports } from '../../../src/drill/report.js';
import { isRelayError } from '../../../src/errors.js';
import { emptyReport, failingReport, hostileReport, manyApplicationsReport, passingReport } from '../../helpers/drill-report-fixtures.js';

const require = createRequire(import.meta.url);
// ajv is CommonJS; the draft 2020-12 build is the default export of ajv/dist/2020.
const Ajv2020 = (require('ajv/dist/2020') as { default: new (opts: object) => { compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown } } }).default;
const SCHEMA_FILE = new URL('../../../docs/drill-report.schema.json', import.meta.url);

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

  it('docs/drill-report.schema.json is the schema generated from the zod schema', () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), drillReportJsonSchemaText(), 'out of date: run `npx tsx scripts/write-drill-report-schema.ts` and commit docs/drill-report.schema.json');
  });

  it('the committed JSON Schema accepts every report the renderers write and refuses what parseDrillReport refuses', () => {
    const validate = new Ajv2020({ strict: true, allErrors: true, validateFormats: false }).compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
    for (const r of [passingReport(), failingReport(), emptyReport(), hostileReport(), manyApplicationsReport(5)]) {
      assert.equal(validate(JSON.parse(drillReportJson(r))), true, JSON.stringify(validate.errors));
    }
    const bad: unknown[] = [
      { ...passingReport(), verdict: 'maybe' },
      { ...passingReport(), startedAt: 'yesterday' },
      { ...passingReport(), rpo: { releases: 0.5, seconds: 0 } },
      { ...passingReport(), extra: true },
    ];
    for (const b of bad) {
      assert.equal(validate(b), false, `schema accepted ${JSON.stringify(b).slice(0, 80)}`);
      assert.throws(() => parseDrillReport(b), (err: unknown) => isRelayError(err, 'MALFORMED'));
    }
  });

  it('parses --format lists; an unknown format is a USAGE error', () => {
    assert.deepEqual(parseReportFormats('json,md'), ['json', 'md']);
    assert.deepEqual(parseReportFormats(' html , junit,html'), ['html', 'junit']);
    for (const bad of ['', 'pdf', 'json,xml']) assert.throws(() => parseReportFormats(bad), (err: unknown) => isRelayError(err, 'USAGE'));
    assert.throws(() => renderReports(passingReport(), ['pdf' as 'json'], tmpdir()), (err: unknown) => isRelayError(err, 'USAGE'));
  });

  it('renderReports writes all four files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-drill-'));
    try {
      const paths = renderReports(failingReport(), ['json', 'md', 'junit', 'html'], dir);
      assert.deepEqual(paths, ['drill-report.json', 'drill-report.md', 'drill-report.xml', 'drill-report.html'].map((f) => join(dir, f)));
      assert.match(readFileSync(paths[1]!, 'utf8'), /^# DR drill: ❌ FAIL/);
      assert.match(readFileSync(paths[2]!, 'utf8'), /<testsuite name="drill" tests="8" failures="5"/);
      assert.match(readFileSync(paths[3]!, 'utf8'), /data-verdict="fail"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
