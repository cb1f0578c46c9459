import assert from 'node:assert/strict';
import { drillReportMarkdown, mdText } from '../../../src/drill/report-markdown.js';
import { emptyReport, failingReport, hostileReport, manyApplicationsReport, passingReport } from '../../helpers/drill-report-fixtures.js';

/** Cells of a table row, split at pipes that are not backslash-escaped. */
function cells(row: string): string[] {
  return row.replace(/^\| | \|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());
}

/** Every table in the document: its rows (header first), each checked to have the header's column count. */
function tables(md: string): string[][][] {
  const out: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      if (!current) out.push((current = []));
      if (!/^\|( --- \|)+$/.test(line)) current.push(cells(line));
    } else current = undefined;
  }
  for (const t of out) for (const row of t) assert.equal(row.length, t[0]!.length, `row ${JSON.stringify(row)} has not the header's ${t[0]!.length} columns`);
  return out;
}

describe('drill/report-markdown: drill-report.md', () => {
  it('opens with the verdict and the reason, then RTO/RPO/SLA against the objectives', () => {
    const md = drillReportMarkdown(passingReport());
    const lines = md.split('\n');
    assert.equal(lines[0], '# DR drill: ✅ PASS');
    assert.equal(lines[2], '**Verdict: PASS** — DR served shop/checkout revision 7 after 6.25 s (objective 30 s, SLA 100 s); RPO 0 releases');
    const [measures, steps, targets, checks] = tables(md);
    assert.deepEqual(measures!.slice(1), [
      ['RTO', '6.25 s', '≤ 30 s', '✅ met'],
      ['RPO', '0 releases, 0 s behind', '≤ 0 releases', '✅ met'],
      ['SLA', 'RTO 6.25 s', 'RTO ≤ 100 s', '✅ met'],
    ]);
    assert.deepEqual(steps!.slice(1).map((r) => [r[1], r[4]]), [['promote', '✅ pass'], ['cut-primary', '✅ pass'], ['verify-dr', '✅ pass'], ['failback', '✅ pass']]);
    assert.deepEqual(targets![1], ['shenzhen', '7', '`6d9f7c8b5`', 'completed', '12', `\`sha256:${'ab'.repeat(32)}\``, `\`${'c0ffee'.padEnd(64, '0')}\``]);
    assert.deepEqual(checks![1], ['shenzhen', 'smoke', 'http', '✅ passed', 'HTTP 200', '0.2 s', 'ok']);
    assert.ok(md.endsWith(' | ok |\n'));
  });

  it('a failing drill shows the failed step, the skipped one and the missed RPO', () => {
    const md = drillReportMarkdown(failingReport());
    assert.ok(md.startsWith('# DR drill: ❌ FAIL\n\n**Verdict: FAIL** — RPO 1 release (objective 0): DR was 95.0 s behind primary at the cut\n'));
    const [measures, steps] = tables(md);
    assert.deepEqual(measures![2], ['RPO', '1 release, 95 s behind', '≤ 0 releases', '❌ missed']);
    assert.deepEqual(measures![1], ['RTO', 'not measured', '≤ 30 s', '❌ missed']);
    assert.deepEqual(steps![3]!.slice(4), ['❌ fail', 'shenzhen serves revision 6, expected 7']);
    assert.deepEqual(steps![4]!.slice(4), ['⏭ skipped', 'skipped after a failed step']);
  });

  it('no steps, no applications, nothing measured', () => {
    const md = drillReportMarkdown(emptyReport());
    assert.match(md, /## Steps\n\nNo steps ran\./);
    assert.match(md, /No applications in the report\./);
    assert.match(md, /Cut `sandbox`: not made\./);
    assert.deepEqual(tables(md)[0]!.slice(1).map((r) => r[3]), ['not measured', 'not measured', 'not measured']);
  });

  it('many applications: one section and one target table each', () => {
    const md = drillReportMarkdown(manyApplicationsReport(25));
    assert.equal(md.match(/^### shop\/app-\d+$/gm)?.length, 25);
    assert.equal(tables(md).length, 2 + 25 * 2);
  });

  it('hostile strings are text: no HTML, no links, no emphasis, no broken tables, one line per cell', () => {
    const md = drillReportMarkdown(hostileReport());
    assert.doesNotMatch(md, /<(?!br>)/, 'no raw < except the <br> line breaks this renderer writes');
    assert.doesNotMatch(md, /(?<!\\)\[l(?<!\\)\]/);
    assert.ok(!md.includes('\u0001') && !md.includes('\u001b'), 'control characters are replaced');
    tables(md); // column counts checked inside
    assert.equal(mdText('a|b\nc'), 'a\\|b<br>c');
    assert.equal(mdText('<b>&amp;'), '&lt;b&gt;&amp;amp;');
  });
});
