import type { DrillReport } from './report.js';

/**
 * The three numbers a drill is judged on (RTO, RPO, SLA), each against its objective, worked out
 * once here so the Markdown table, the JUnit cases and the HTML page can never disagree.
 */

export type MeasureStatus = 'met' | 'missed' | 'no-objective' | 'not-measured';

export interface DrillMeasure {
  name: 'RTO' | 'RPO' | 'SLA';
  /** "6.25 s", "1 release, 95.0 s behind", "not measured". */
  measured: string;
  /** "≤ 30 s", "≤ 0 releases", "none". */
  objective: string;
  status: MeasureStatus;
  /** One sentence for a JUnit failure or skip message. */
  detail: string;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${Number(seconds.toFixed(2))} s`;
  return `${Number(seconds.toFixed(1))} s`;
}

function releases(n: number): string {
  return `${n} release${n === 1 ? '' : 's'}`;
}

/** Whether a measure fails the drill in the reports (JUnit failure, red in HTML). */
export function measureFailed(m: DrillMeasure): boolean {
  return m.status === 'missed';
}

export function drillMeasures(r: DrillReport): DrillMeasure[] {
  return [rtoMeasure(r), rpoMeasure(r), slaMeasure(r)];
}

function rtoMeasure(r: DrillReport): DrillMeasure {
  const objective = r.objectives.rtoSeconds;
  const shownObjective = objective === null ? 'none' : `≤ ${formatSeconds(objective)}`;
  if (r.rtoSeconds === null) {
    // As the drill judges it: RTO counts only after a cut; cut but never verified serving misses
    // any objective. Without a cut (a scenario without cut-primary) there is nothing to judge.
    const status = r.cut.at !== null && objective !== null ? 'missed' : 'not-measured';
    const why = r.cut.at === null ? 'primary was not cut' : 'DR was not verified serving after the cut';
    return { name: 'RTO', measured: 'not measured', objective: shownObjective, status, detail: `RTO was not measured: ${why}${objective === null ? '' : `; objective ${shownObjective}`}` };
  }
  const measured = formatSeconds(r.rtoSeconds);
  if (objective === null) return { name: 'RTO', measured, objective: shownObjective, status: 'no-objective', detail: `RTO ${measured}; the scenario sets no RTO objective` };
  const met = r.rtoSeconds <= objective;
  return { name: 'RTO', measured, objective: shownObjective, status: met ? 'met' : 'missed', detail: `RTO ${measured} ${met ? 'within' : 'above'} the objective of ${formatSeconds(objective)}` };
}

function rpoMeasure(r: DrillReport): DrillMeasure {
  const objective = r.objectives.rpoReleases;
  const shownObjective = objective === null ? 'none' : `≤ ${releases(objective)}`;
  if (r.rpo === null) {
    // The promote step measures RPO; a scenario without it judges DR as it is (design §8.1).
    return { name: 'RPO', measured: 'not measured', objective: shownObjective, status: 'not-measured', detail: `RPO was not measured (no promote step)${objective === null ? '' : `; objective ${shownObjective}`}` };
  }
  const measured = `${releases(r.rpo.releases)}, ${formatSeconds(r.rpo.seconds)} behind`;
  if (objective === null) return { name: 'RPO', measured, objective: shownObjective, status: 'no-objective', detail: `RPO ${measured}; the scenario sets no RPO objective` };
  const met = r.rpo.releases <= objective;
  return { name: 'RPO', measured, objective: shownObjective, status: met ? 'met' : 'missed', detail: `RPO ${measured} at the cut; objective ${shownObjective}` };
}

/** The SLA bounds the time from the cut to DR verified serving, i.e. the RTO (issue: "RTO under the SLA"). */
function slaMeasure(r: DrillReport): DrillMeasure {
  const objective = `RTO ≤ ${formatSeconds(r.sla.seconds)}`;
  if (r.rtoSeconds === null) {
    // Without a cut there is nothing to hold to the SLA; after a cut, never serving misses it.
    const status = r.cut.at === null ? 'not-measured' : 'missed';
    return { name: 'SLA', measured: 'not measured', objective, status, detail: status === 'missed' ? `primary was cut but DR was never verified serving; SLA ${formatSeconds(r.sla.seconds)}` : 'no cut, so no RTO to hold to the SLA' };
  }
  const measured = `RTO ${formatSeconds(r.rtoSeconds)}`;
  const met = r.rtoSeconds <= r.sla.seconds;
  return { name: 'SLA', measured, objective, status: met ? 'met' : 'missed', detail: `${measured} ${met ? 'within' : 'above'} the SLA of ${formatSeconds(r.sla.seconds)}` };
}

/** Epoch ms of an ISO timestamp from a validated report. */
export function epochMs(iso: string): number {
  return Date.parse(iso);
}
