import type { DrillReport } from './report.js';
import { drillMeasures, formatSeconds, type MeasureStatus } from './report-measures.js';
import { drillTimelineSvg, htmlEscape } from './report-timeline.js';

/**
 * `drill-report.html`: one self-contained page for an auditor or an incident review: inline CSS
 * and SVG, no scripts, no fetches (a Content-Security-Policy meta forbids both), so it opens the
 * same from a CI artifact, a mail attachment or an air-gapped laptop.
 */

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121; margin: 0; background: #fafafa; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e0e0e0; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.verdict { border-radius: 6px; padding: 14px 18px; color: #fff; }
.verdict.pass { background: #2e7d32; color: #fff; } .verdict.fail { background: #c62828; color: #fff; }
.verdict strong { font-size: 20px; letter-spacing: .04em; margin-right: 10px; }
.meta { color: #616161; margin: 8px 0 0; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 6px 0; }
th, td { border: 1px solid #e0e0e0; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
td.num, td.time, td.name { white-space: nowrap; } td.num { text-align: right; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
.pass, .met { color: #2e7d32; } .fail, .missed { color: #c62828; } .skipped, .not-measured, .no-objective { color: #757575; }
td.pass, td.fail, td.skipped, td.met, td.missed, td.not-measured, td.no-objective { font-weight: 600; white-space: nowrap; }
.msg { white-space: pre-wrap; word-break: break-word; }
figure { margin: 8px 0; background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px; }
figcaption { color: #616161; font-size: 12px; margin-top: 4px; }
`;

const STATUS_WORD: Record<MeasureStatus, string> = { met: 'met', missed: 'missed', 'no-objective': 'no objective', 'not-measured': 'not measured' };

const e = htmlEscape;

function orDash(value: string | number | null): string {
  return value === null || value === '' ? '–' : e(String(value));
}

function codeOrDash(value: string | null): string {
  return value === null || value === '' ? '–' : `<code>${e(value)}</code>`;
}

export function drillReportHtml(r: DrillReport): string {
  const verdict = r.verdict === 'pass' ? 'PASS' : 'FAIL';
  const body: string[] = [];
  body.push(`<h1>DR failover drill: ${e(r.scenario || 'unnamed scenario')}</h1>`);
  body.push(`<section id="verdict" class="verdict ${r.verdict}" data-verdict="${r.verdict}"><strong>${verdict}</strong>${e(r.reason || 'no reason given')}</section>`);
  body.push(`<p class="meta">Started ${e(r.startedAt)}, finished ${e(r.finishedAt)}. ${cutSentence(r)}</p>`);

  body.push('<h2>RTO, RPO and SLA</h2>', '<table id="measures"><thead><tr><th>Measure</th><th>Measured</th><th>Objective</th><th>Result</th></tr></thead><tbody>');
  for (const m of drillMeasures(r)) body.push(`<tr><td>${m.name}</td><td>${e(m.measured)}</td><td>${e(m.objective)}</td><td class="${m.status}">${STATUS_WORD[m.status]}</td></tr>`);
  body.push('</tbody></table>');

  body.push('<h2>Timeline</h2>', '<figure>', drillTimelineSvg(r), '<figcaption>Bars: steps (green pass, red fail, grey skipped). Orange: the cut and its undo. Blue: RTO, from the cut to DR verified serving. Dashed red: the SLA deadline.</figcaption>', '</figure>');

  body.push('<h2>Steps</h2>');
  if (r.steps.length === 0) body.push('<p id="steps">No steps ran.</p>');
  else {
    body.push('<table id="steps"><thead><tr><th>#</th><th>Step</th><th>Started</th><th>Seconds</th><th>Result</th><th>Message</th></tr></thead><tbody>');
    r.steps.forEach((s, i) => body.push(`<tr class="step" data-step="${e(s.name)}"><td class="num">${i + 1}</td><td class="name">${e(s.name)}</td><td class="time">${e(s.startedAt)}</td><td class="num">${e(formatSeconds(s.seconds))}</td><td class="${s.result}">${s.result}</td><td class="msg">${e(s.message)}</td></tr>`));
    body.push('</tbody></table>');
  }

  body.push('<h2>Proof per application and target</h2>');
  if (r.applications.length === 0) body.push('<p>No applications in the report.</p>');
  for (const app of r.applications) {
    body.push(`<section class="application"><h3>${e(app.application)}</h3>`);
    body.push(`<p>Primary: revision ${orDash(app.primaryRevision)}, pod template hash ${codeOrDash(app.primaryPodTemplateHash)}.</p>`);
    if (app.targets.length === 0) {
      body.push('<p>No DR targets.</p></section>');
      continue;
    }
    body.push('<table class="targets"><thead><tr><th>Target</th><th>Revision</th><th>Pod template hash</th><th>Hot update</th><th>Sequence</th><th>Bundle digest</th><th>Key ids</th></tr></thead><tbody>');
    for (const t of app.targets) {
      const keys = t.keyIds.length ? t.keyIds.map((k) => `<code>${e(k)}</code>`).join('<br>') : '–';
      body.push(`<tr><td>${e(t.target)}</td><td>${orDash(t.revision)}</td><td>${codeOrDash(t.podTemplateHash)}</td><td>${orDash(t.hotUpdateStatus)}</td><td class="num">${orDash(t.sequence)}</td><td>${codeOrDash(t.bundleDigest)}</td><td>${keys}</td></tr>`);
    }
    body.push('</tbody></table>');
    const checks = app.targets.flatMap((t) => t.postChecks.map((c) => ({ target: t.target, c })));
    if (checks.length === 0) body.push('<p>Post-checks: none ran.</p>');
    else {
      body.push('<table class="post-checks"><thead><tr><th>Target</th><th>Post-check</th><th>Type</th><th>Result</th><th>Observed</th><th>Seconds</th><th>Message</th></tr></thead><tbody>');
      for (const { target, c } of checks) {
        body.push(`<tr><td>${e(target)}</td><td>${e(c.name)}</td><td>${e(c.type)}</td><td class="${c.passed ? 'pass' : 'fail'}">${c.passed ? 'passed' : 'failed'}</td><td class="msg">${e(c.observed)}</td><td class="num">${e(formatSeconds(c.seconds))}</td><td class="msg">${e(c.message)}</td></tr>`);
      }
      body.push('</tbody></table>');
    }
    body.push('</section>');
  }

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // No scripts, no network: everything the page shows is in this file.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>DR drill ${verdict}: ${e(r.scenario)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body><main>',
    ...body,
    '<p class="meta">Written by rollout-relay drill; drill-report.json holds the same data for machines.</p>',
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}

function cutSentence(r: DrillReport): string {
  if (r.cut.at === null) return `Cut (${e(r.cut.type)}): not made.`;
  const undo = r.cut.undoneAt === null ? '<strong class="fail">not undone</strong>' : `undone at ${e(r.cut.undoneAt)}`;
  return `Cut (${e(r.cut.type)}) at ${e(r.cut.at)}, ${undo}. SLA ${e(formatSeconds(r.sla.seconds))} from the cut.`;
}
