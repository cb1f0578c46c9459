import type { DrillReport, DrillStep } from './report.js';
import { drillMeasures, formatSeconds, type MeasureStatus } from './report-measures.js';

/**
 * `drill-report.md`: for people (a merge request comment, a wiki page, an audit folder). Verdict
 * and reason first, then the measures against their objectives, the steps, and per application
 * and target the proof: digests, key ids and post-check results.
 */

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Report strings come from clusters and user commands: shown as literal text, never as Markdown
 * or HTML (a `<img>` or `[link](…)` in a message must not render), on one line.
 */
export function mdText(text: string): string {
  return text
    .replace(CONTROL, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~#!]/g, (c) => `\\${c}`)
    .replace(/\r\n|\r|\n/g, '<br>');
}

/** A table cell: as mdText, and an empty value shown as a dash so the table keeps its columns. */
function cell(text: string | number | null | undefined): string {
  if (text === null || text === undefined || text === '') return '–';
  return mdText(String(text));
}

/** An identifier (digest, key id) in a code span when it is plain, else as escaped text. */
function code(text: string | null): string {
  if (text === null || text === '') return '–';
  return /^[A-Za-z0-9:._/+=-]+$/.test(text) ? `\`${text}\`` : mdText(text);
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

const STATUS_WORD: Record<MeasureStatus, string> = { met: '✅ met', missed: '❌ missed', 'no-objective': 'no objective', 'not-measured': 'not measured' };
const STEP_WORD: Record<DrillStep['result'], string> = { pass: '✅ pass', fail: '❌ fail', skipped: '⏭ skipped' };

export function drillReportMarkdown(r: DrillReport): string {
  const out: string[] = [];
  out.push(`# DR drill: ${r.verdict === 'pass' ? '✅ PASS' : '❌ FAIL'}`, '');
  out.push(`**Verdict: ${r.verdict.toUpperCase()}** — ${r.reason ? mdText(r.reason) : 'no reason given'}`, '');
  out.push(`Scenario ${code(r.scenario)}, started ${mdText(r.startedAt)}, finished ${mdText(r.finishedAt)}.`, '');

  out.push('## RTO, RPO and SLA', '');
  out.push(...table(['Measure', 'Measured', 'Objective', 'Result'], drillMeasures(r).map((m) => [m.name, cell(m.measured), cell(m.objective), STATUS_WORD[m.status]])), '');
  const cut = r.cut.at === null ? `Cut ${code(r.cut.type)}: not made.` : `Cut ${code(r.cut.type)} at ${mdText(r.cut.at)}, ${r.cut.undoneAt === null ? '**not undone**' : `undone at ${mdText(r.cut.undoneAt)}`}.`;
  out.push(cut, '');

  out.push('## Steps', '');
  if (r.steps.length === 0) out.push('No steps ran.', '');
  else out.push(...table(['#', 'Step', 'Started', 'Seconds', 'Result', 'Message'], r.steps.map((s, i) => [String(i + 1), cell(s.name), cell(s.startedAt), formatSeconds(s.seconds), STEP_WORD[s.result], cell(s.message)])), '');

  out.push('## Applications', '');
  if (r.applications.length === 0) out.push('No applications in the report.', '');
  for (const app of r.applications) {
    out.push(`### ${mdText(app.application)}`, '');
    out.push(`Primary: revision ${cell(app.primaryRevision)}, pod template hash ${code(app.primaryPodTemplateHash)}.`, '');
    if (app.targets.length === 0) {
      out.push('No DR targets.', '');
      continue;
    }
    out.push(
      ...table(
        ['Target', 'Revision', 'Pod template hash', 'Hot update', 'Sequence', 'Bundle digest', 'Key ids'],
        app.targets.map((t) => [cell(t.target), cell(t.revision), code(t.podTemplateHash), cell(t.hotUpdateStatus), cell(t.sequence), code(t.bundleDigest), t.keyIds.length ? t.keyIds.map(code).join('<br>') : '–']),
      ),
      '',
    );
    const checks = app.targets.flatMap((t) => t.postChecks.map((c) => [cell(t.target), cell(c.name), cell(c.type), c.passed ? '✅ passed' : '❌ failed', cell(c.observed), formatSeconds(c.seconds), cell(c.message)]));
    out.push('Post-checks:', '');
    if (checks.length === 0) out.push('None ran.', '');
    else out.push(...table(['Target', 'Check', 'Type', 'Result', 'Observed', 'Seconds', 'Message'], checks), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
