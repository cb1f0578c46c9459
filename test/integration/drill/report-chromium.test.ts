import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReports, type DrillReport } from '../../../src/drill/report.js';
import { failingReport, HOSTILE, hostileReport, passingReport } from '../../helpers/drill-report-fixtures.js';
import { chromiumBinary, chromiumDumpDom, chromiumScreenshot } from '../support/chromium.js';
import { decodePng, type Image } from '../support/png.js';

// The timeline's colours (src/drill/report-timeline.ts), each drawn only by the timeline in a passing report.
const CUT = '#ef6c00';
const SLA = '#c62828';
const RTO = '#1565c0';

/** x of the column holding the most pixels of `colour`, how many, and the rows they span. */
function tallestColumn(img: Image, colour: string): { x: number; count: number; top: number; bottom: number } {
  let best = { x: -1, count: 0, top: -1, bottom: -1 };
  for (let x = 0; x < img.width; x++) {
    let count = 0;
    let top = -1;
    let bottom = -1;
    for (let y = 0; y < img.height; y++) {
      if (img.hex(x, y) !== colour) continue;
      count++;
      if (top < 0) top = y;
      bottom = y;
    }
    if (count > best.count) best = { x, count, top, bottom };
  }
  return best;
}

/**
 * The longest horizontal run of `colour` between rows y0 and y1, bridging gaps of up to `gap`
 * pixels (a marker line drawn across a bar does not split it): where it starts and how long it is.
 */
function longestRun(img: Image, colour: string, y0 = 0, y1 = img.height - 1, gap = 0): { x: number; y: number; length: number } {
  let best = { x: -1, y: -1, length: 0 };
  for (let y = y0; y <= y1; y++) {
    let start = -1;
    let last = -1;
    for (let x = 0; x <= img.width; x++) {
      const on = x < img.width && img.hex(x, y) === colour;
      if (on) {
        if (start < 0 || x - last - 1 > gap) start = x;
        last = x;
        if (last - start + 1 > best.length) best = { x: start, y, length: last - start + 1 };
      }
    }
  }
  return best;
}

describe('drill reports in a real headless Chromium (Debian package)', function () {
  let dir: string | undefined;
  before(function () {
    chromiumBinary(); // fails here, naming the fix, when Chromium is not installed
    dir = mkdtempSync(join(tmpdir(), 'rr-drill-html-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function htmlFile(name: string, report: DrillReport): string {
    const [path] = renderReports(report, ['html'], join(dir!, name));
    return path!;
  }

  it('the parsed page has every step, the verdict and the SVG timeline; a hostile <script> stays text', async () => {
    const report = hostileReport();
    const dom = await chromiumDumpDom(htmlFile('hostile', report));
    assert.match(dom, /<section id="verdict" class="verdict fail" data-verdict="fail"><strong>FAIL<\/strong>/);
    assert.match(dom, /<svg id="timeline"[^>]*>/);
    // Every step: a bar in the timeline and a row in the steps table, hostile name included.
    const barSteps = [...dom.matchAll(/<rect class="step-bar" data-step="([^"]*)"/g)].map((m) => m[1]);
    const rowSteps = [...dom.matchAll(/<tr class="step" data-step="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(barSteps.length, report.steps.length);
    assert.deepEqual(rowSteps, barSteps);
    assert.deepEqual(barSteps.slice(0, 4), ['promote', 'cut-primary', 'verify-dr', 'failback']);
    for (const id of ['cut-marker', 'undo-marker', 'sla-marker']) assert.match(dom, new RegExp(`<g id="${id}">`));
    // Chromium built no script element from the hostile strings: they are text in the DOM.
    assert.doesNotMatch(dom, /<script/i);
    assert.ok(dom.includes('&lt;script&gt;alert("x")&lt;/script&gt;'), 'the hostile message is shown as text');
    assert.ok(HOSTILE.includes('<script>'));
  });

  it('renders the timeline: cut line, RTO span from the cut, SLA line at cut + 100 s, in proportion', async () => {
    const png = join(dir!, 'pass.png');
    await chromiumScreenshot(htmlFile('pass', passingReport()), png, 1200, 900);
    const img = decodePng(readFileSync(png));
    assert.deepEqual([img.width, img.height], [1200, 900]);
    const cut = tallestColumn(img, CUT);
    const sla = tallestColumn(img, SLA);
    const rto = longestRun(img, RTO);
    assert.ok(cut.count >= 100, `a solid cut line (${cut.count} px of ${CUT})`);
    assert.ok(sla.count >= 60, `a dashed SLA line (${sla.count} px of ${SLA})`);
    assert.ok(rto.length >= 20, `an RTO span (${rto.length} px of ${RTO})`);
    // Geometry: the RTO span starts at the cut; RTO 6.25 s against the SLA's 100 s from the cut.
    assert.ok(Math.abs(rto.x - cut.x) <= 3, `RTO starts at x=${rto.x}, the cut is at x=${cut.x}`);
    const ratio = rto.length / (sla.x - cut.x);
    assert.ok(ratio > 0.04 && ratio < 0.09, `RTO/SLA on screen ${ratio.toFixed(3)}, expected ≈ 0.0625`);
  });

  it('a failed drill renders its failed and skipped steps in the timeline', async () => {
    const png = join(dir!, 'fail.png');
    await chromiumScreenshot(htmlFile('fail', failingReport()), png, 1200, 900);
    const img = decodePng(readFileSync(png));
    // Within the timeline (the rows the cut line spans; the red verdict banner is above it): the
    // failed verify-dr bar in red, then the skipped failback bar (grey at half opacity) below it,
    // about 21.5 / 5.5 times as wide.
    const cut = tallestColumn(img, CUT);
    assert.ok(cut.count >= 100, `a solid cut line (${cut.count} px)`);
    const failBar = longestRun(img, '#c62828', cut.top, cut.bottom);
    const skippedBar = longestRun(img, '#cecece', cut.top, cut.bottom, 3);
    assert.ok(failBar.length >= 20, `a failed verify-dr bar (${failBar.length} px of red)`);
    assert.ok(skippedBar.y > failBar.y, 'failback is drawn below verify-dr');
    const ratio = skippedBar.length / failBar.length;
    assert.ok(ratio > 3 && ratio < 4.8, `failback/verify-dr widths ${ratio.toFixed(2)}, expected ≈ 3.9`);
  });
});
