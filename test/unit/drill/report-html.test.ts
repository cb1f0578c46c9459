import assert from 'node:assert/strict';
import { drillReportHtml } from '../../../src/drill/report-html.js';
import { drillTimelineSvg, htmlEscape, tickStep, timelineScale } from '../../../src/drill/report-timeline.js';
import { emptyReport, failingReport, hostileReport, manyApplicationsReport, passingReport } from '../../helpers/drill-report-fixtures.js';

function bars(svg: string): { step: string; result: string; x: number; width: number }[] {
  return [...svg.matchAll(/<rect class="step-bar" data-step="([^"]*)" data-result="(\w+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ step: m[1]!, result: m[2]!, x: Number(m[3]), width: Number(m[4]) }));
}

describe('drill/report-html: drill-report.html and its SVG timeline', () => {
  it('is one self-contained page: inline CSS and SVG, no scripts, no external references', () => {
    const html = drillReportHtml(passingReport());
    assert.ok(html.startsWith('<!DOCTYPE html>\n<html lang="en">'));
    assert.match(html, /<section id="verdict" class="verdict pass" data-verdict="pass"><strong>PASS<\/strong>DR served shop\/checkout revision 7/);
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(/i);
    assert.doesNotMatch(html, /(src|href)=/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.match(html, /<svg id="timeline"/);
  });

  it('places the step bars by start and duration on one seconds axis', () => {
    const r = passingReport();
    const b = bars(drillTimelineSvg(r));
    assert.deepEqual(b.map((x) => x.step), ['promote', 'cut-primary', 'verify-dr', 'failback']);
    // Bars do not go back in time, and a bar's width is proportional to its seconds.
    for (let i = 1; i < b.length; i++) assert.ok(b[i]!.x >= b[i - 1]!.x);
    const perSecond = b[3]!.width / 21.5;
    assert.ok(Math.abs(b[0]!.width - 4.5 * perSecond) < 0.2);
    // failback starts at +20 s: its x is 20 s right of promote's at the same scale.
    assert.ok(Math.abs(b[3]!.x - b[0]!.x - 20 * perSecond) < 0.2);
    // The axis reaches past the SLA deadline (cut at +5 s, SLA 100 s) so the deadline is drawn.
    assert.ok(timelineScale(r).span >= 105);
  });

  it('draws the cut, its undo, the SLA deadline and the RTO span when measured', () => {
    const svg = drillTimelineSvg(passingReport());
    for (const id of ['cut-marker', 'undo-marker', 'sla-marker', 'rto-span']) assert.match(svg, new RegExp(`<g id="${id}"`));
    const failed = drillTimelineSvg(failingReport());
    assert.doesNotMatch(failed, /rto-span/, 'no RTO span when RTO was not measured');
    assert.deepEqual(bars(failed).map((x) => x.result), ['pass', 'pass', 'fail', 'skipped']);
  });

  it('zero steps and no cut: a timeline that says no steps ran, with the SLA from the start', () => {
    const r = emptyReport();
    const svg = drillTimelineSvg(r);
    assert.equal(bars(svg).length, 0);
    assert.match(svg, /no steps ran/);
    assert.doesNotMatch(svg, /cut-marker|undo-marker|rto-span/);
    assert.equal(timelineScale(r).slaDeadline, Date.parse(r.startedAt) + 100_000);
    const html = drillReportHtml(r);
    assert.match(html, /No steps ran\./);
    assert.match(html, /No applications in the report\./);
    assert.match(html, /data-verdict="fail"/);
  });

  it('many applications: one section each with its digests and key ids', () => {
    const html = drillReportHtml(manyApplicationsReport(30));
    assert.equal(html.match(/<section class="application">/g)?.length, 30);
    assert.match(html, new RegExp(`<code>sha256:${'0'.repeat(62)}3b</code>`));
  });

  it('escapes every report string: a hostile <script> stays text', () => {
    const html = drillReportHtml(hostileReport());
    assert.doesNotMatch(html, /<script/i);
    assert.ok(!html.includes('\u0001') && !html.includes('\u001b'), 'control characters are replaced');
    assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;q&#39; \]\]&gt;/);
    assert.equal(htmlEscape(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('a long drill: the axis counts in minutes and still reaches every step', () => {
    const r = passingReport();
    r.steps[3] = { ...r.steps[3]!, seconds: 900 }; // a 15-minute failback
    const svg = drillTimelineSvg(r);
    const ticks = [...svg.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="middle"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
    assert.ok(ticks.length >= 3 && ticks.length <= 11, `ticks ${ticks.join(', ')}`);
    assert.ok(ticks.every((t) => t!.endsWith(' min')), `ticks ${ticks.join(', ')}`);
    assert.match(svg, /minutes since the drill started/);
    const last = bars(svg)[3]!;
    assert.ok(last.x + last.width <= 1000 - 40 + 0.5, 'the last bar ends inside the plot');
    // Cut (5 s), undo (20 s) and SLA (105 s) lie close on a 15-minute axis: their labels stack instead of overlapping.
    const labelY = (id: string) => Number(new RegExp(`<text data-marker="${id}" x="[\\d.]+" y="([\\d.]+)"`).exec(svg)?.[1]);
    const ys = ['cut-marker', 'undo-marker', 'sla-marker'].map(labelY);
    assert.ok(ys.every((y) => y > 0), `label y ${ys.join(', ')}`);
    assert.equal(new Set(ys).size, 3, `labels on three levels: ${ys.join(', ')}`);
    // On the short axis of passingReport they fit side by side on one level.
    const short = drillTimelineSvg(passingReport());
    assert.equal(new Set([...short.matchAll(/<text data-marker="[\w-]+" x="[\d.]+" y="([\d.]+)"/g)].map((m) => m[1])).size, 1);
  });

  it('chooses at most ten ticks', () => {
    for (const span of [0.5, 1, 7, 42, 105, 600, 3000, 40_000]) assert.ok(span / tickStep(span) <= 10, `span ${span}`);
  });
});
