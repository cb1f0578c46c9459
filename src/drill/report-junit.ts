import { junitXml, type JUnitCase } from '../ci/reports.js';
import type { DrillReport } from './report.js';
import { drillMeasures, epochMs } from './report-measures.js';

/**
 * `drill-report.xml`: one testsuite "drill" that CI shows as tests. One case per step (a failed
 * step is a <failure>, a skipped one <skipped>), then one case each for the RTO and RPO objectives
 * and the SLA, and one for the verdict, so a pipeline goes red on a missed objective even when every step ran.
 */
export function drillReportJUnit(r: DrillReport): string {
  const cases: JUnitCase[] = r.steps.map((s, i) => ({
    name: `${i + 1}. ${s.name}`,
    classname: 'drill.steps',
    seconds: s.seconds,
    ...(s.result === 'fail' ? { failure: { type: 'STEP_FAILED', message: s.message || `step ${s.name} failed` } } : {}),
    ...(s.result === 'skipped' ? { skipped: s.message || 'skipped' } : {}),
  }));
  for (const m of drillMeasures(r)) {
    cases.push({
      name: m.name === 'SLA' ? `SLA: ${m.objective}` : `${m.name} objective ${m.objective}`,
      classname: 'drill.objectives',
      seconds: 0,
      ...(m.status === 'missed' ? { failure: { type: `${m.name}_MISSED`, message: m.detail } } : {}),
      ...(m.status === 'not-measured' ? { skipped: m.detail } : {}),
    });
  }
  // The verdict is the drill's own judgement; its case makes the suite red even when the drill
  // failed before any step ran (e.g. refused because a promotion was in flight).
  cases.push({ name: `verdict: ${r.verdict}`, classname: 'drill', seconds: 0, ...(r.verdict === 'fail' ? { failure: { type: 'DRILL_FAILED', message: r.reason || 'the drill failed' } } : {}) });
  return junitXml({
    name: 'drill',
    timestamp: epochMs(r.startedAt),
    properties: { scenario: r.scenario, verdict: r.verdict, reason: r.reason },
    cases,
  });
}
