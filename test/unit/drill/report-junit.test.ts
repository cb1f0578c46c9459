import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { drillReportJUnit } from '../../../src/drill/report-junit.js';
import type { DrillReport } from '../../../src/drill/report.js';
import { emptyReport, failingReport, HOSTILE, hostileReport, manyApplicationsReport, passingReport } from '../../helpers/drill-report-fixtures.js';

interface Case {
  name: string;
  classname: string;
  time: string;
  failure?: { message: string; type: string; '#text': string };
  skipped?: { message: string };
}
interface Suite {
  name: string;
  tests: string;
  failures: string;
  skipped: string;
  properties?: { property: { name: string; value: string }[] };
  testcase: Case[];
}

/** Parses the document with a real XML parser (well-formedness checked first), as CI would. */
function parseJUnit(r: DrillReport): Suite {
  const xml = drillReportJUnit(r);
  const valid = XMLValidator.validate(xml);
  assert.equal(valid, true, `not well-formed XML: ${JSON.stringify(valid)}`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, parseTagValue: false, htmlEntities: true, isArray: (name) => name === 'testcase' || name === 'property' });
  const doc = parser.parse(xml) as { testsuites: { testsuite: Suite } };
  return doc.testsuites.testsuite;
}

describe('drill/report-junit: drill-report.xml', () => {
  it('a passing drill: one case per step, then RTO, RPO, SLA and the verdict, none failed', () => {
    const s = parseJUnit(passingReport());
    assert.equal(s.name, 'drill');
    assert.deepEqual(s.testcase.map((c) => c.name), ['1. promote', '2. cut-primary', '3. verify-dr', '4. failback', 'RTO objective ≤ 30 s', 'RPO objective ≤ 0 releases', 'SLA: RTO ≤ 100 s', 'verdict: pass']);
    assert.deepEqual([s.tests, s.failures, s.skipped], ['8', '0', '0']);
    assert.equal(s.testcase[0]!.time, '4.500');
    assert.ok(s.testcase.every((c) => !c.failure && !c.skipped));
    assert.deepEqual(s.properties?.property.map((p) => [p.name, p.value]).slice(0, 2), [['scenario', 'drills/checkout.yaml'], ['verdict', 'pass']]);
  });

  it('DR stale: the failed step is a failure with its message, the skipped step skipped, RPO and verdict failed', () => {
    const s = parseJUnit(failingReport());
    const byName = new Map(s.testcase.map((c) => [c.name, c]));
    assert.equal(byName.get('3. verify-dr')!.failure!.message, 'shenzhen serves revision 6, expected 7');
    assert.equal(byName.get('4. failback')!.skipped!.message, 'skipped after a failed step');
    assert.equal(byName.get('RPO objective ≤ 0 releases')!.failure!.type, 'RPO_MISSED');
    assert.match(byName.get('verdict: fail')!.failure!.message, /RPO 1 release/);
    assert.deepEqual([s.tests, s.failures, s.skipped], ['8', '5', '1']);
  });

  it('no steps and nothing measured: only the objectives (skipped) and the failed verdict', () => {
    const s = parseJUnit(emptyReport());
    assert.deepEqual(s.testcase.map((c) => [c.name, c.skipped ? 'skipped' : c.failure ? 'failure' : 'pass']), [
      ['RTO objective none', 'skipped'],
      ['RPO objective none', 'skipped'],
      ['SLA: RTO ≤ 100 s', 'skipped'],
      ['verdict: fail', 'failure'],
    ]);
  });

  it('many applications do not change the cases (applications are proof, not tests)', () => {
    assert.equal(parseJUnit(manyApplicationsReport(40)).testcase.length, 8);
  });

  it('hostile step names and messages stay well-formed and read back as the same text (control characters as U+FFFD)', () => {
    const s = parseJUnit(hostileReport());
    const expected = HOSTILE.replaceAll('\u0001', '\ufffd').replaceAll('\u001b', '\ufffd');
    const hostileStep = s.testcase.find((c) => c.name === `5. ${expected}`);
    assert.ok(hostileStep, `no case named after the hostile step in ${JSON.stringify(s.testcase.map((c) => c.name))}`);
    assert.equal(hostileStep.failure!.message, expected);
    // Attributes keep line breaks exactly (written as character references); element text gets XML's line-end normalization.
    assert.equal(hostileStep.failure!['#text'], expected.replace(/\r\n/g, '\n'));
    assert.equal(s.testcase[2]!.failure!.message, expected);
    assert.equal(s.properties!.property.find((p) => p.name === 'reason')!.value, expected);
  });
});
