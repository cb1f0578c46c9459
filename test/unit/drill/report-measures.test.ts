import assert from 'node:assert/strict';
import { drillMeasures, formatSeconds } from '../../../src/drill/report-measures.js';
import { emptyReport, failingReport, passingReport } from '../../helpers/drill-report-fixtures.js';

describe('drill/report-measures: RTO, RPO and SLA against their objectives', () => {
  it('a passing drill meets all three', () => {
    assert.deepEqual(drillMeasures(passingReport()).map((m) => [m.name, m.status, m.measured]), [
      ['RTO', 'met', '6.25 s'],
      ['RPO', 'met', '0 releases, 0 s behind'],
      ['SLA', 'met', 'RTO 6.25 s'],
    ]);
  });

  it('DR stale: RPO 1 release missed; RTO not measured after a cut misses its objective and the SLA', () => {
    const [rto, rpo, sla] = drillMeasures(failingReport());
    assert.equal(rpo!.status, 'missed');
    assert.match(rpo!.detail, /1 release, 95 s behind/);
    assert.equal(rto!.status, 'missed');
    assert.equal(sla!.status, 'missed');
  });

  it('RTO above the objective but within the SLA, and above the SLA', () => {
    const r = passingReport();
    r.rtoSeconds = 45;
    assert.deepEqual(drillMeasures(r).map((m) => m.status), ['missed', 'met', 'met']);
    r.rtoSeconds = 100.5;
    assert.deepEqual(drillMeasures(r).map((m) => m.status), ['missed', 'met', 'missed']);
    r.rtoSeconds = 30; // equal to the objective counts as met
    assert.equal(drillMeasures(r)[0]!.status, 'met');
  });

  it('no objectives and nothing measured: not measured, never a pass or a failure', () => {
    assert.deepEqual(drillMeasures(emptyReport()).map((m) => m.status), ['not-measured', 'not-measured', 'not-measured']);
    const r = passingReport();
    r.objectives = { rtoSeconds: null, rpoReleases: null };
    assert.deepEqual(drillMeasures(r).map((m) => m.status), ['no-objective', 'no-objective', 'met']);
  });

  it('agrees with the drill verdict: objectives set but no cut and no promote step are not measured, not missed', () => {
    const r = passingReport();
    r.cut = { type: 'sandbox', at: null, undoneAt: null };
    r.rtoSeconds = null;
    r.rpo = null;
    r.steps = r.steps.filter((s) => s.name === 'verify-dr');
    assert.deepEqual(drillMeasures(r).map((m) => m.status), ['not-measured', 'not-measured', 'not-measured']);
    assert.match(drillMeasures(r)[0]!.detail, /primary was not cut; objective ≤ 30 s/);
  });

  it('formats seconds with two decimals below 10 s and one above', () => {
    assert.deepEqual([0, 0.25, 6.256, 10, 95.04, 123.45].map(formatSeconds), ['0 s', '0.25 s', '6.26 s', '10 s', '95 s', '123.5 s']);
  });
});
