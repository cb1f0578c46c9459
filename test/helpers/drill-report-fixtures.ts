/** Drill reports for the renderer tests: pass, fail (DR stale), empty, hostile strings, many applications. */
import type { DrillReport } from '../../src/drill/report.js';

/** A passing four-step drill of one application with one DR target, as the drill command writes it. */
export function passingReport(): DrillReport {
  return {
    apiVersion: 'rollout-relay.io/v1',
    kind: 'DrillReport',
    scenario: 'drills/checkout.yaml',
    startedAt: '2026-11-28T21:00:00.000Z',
    finishedAt: '2026-11-28T21:00:41.500Z',
    verdict: 'pass',
    reason: 'DR served shop/checkout revision 7 after 6.25 s (objective 30 s, SLA 100 s); RPO 0 releases',
    sla: { seconds: 100 },
    objectives: { rtoSeconds: 30, rpoReleases: 0 },
    rtoSeconds: 6.25,
    rpo: { releases: 0, seconds: 0 },
    cut: { type: 'sandbox', at: '2026-11-28T21:00:05.000Z', undoneAt: '2026-11-28T21:00:20.000Z' },
    steps: [
      { name: 'promote', startedAt: '2026-11-28T21:00:00.000Z', seconds: 4.5, result: 'pass', message: 'DR already had revision 7' },
      { name: 'cut-primary', startedAt: '2026-11-28T21:00:05.000Z', seconds: 0.75, result: 'pass', message: 'stopped primary kube-apiserver' },
      { name: 'verify-dr', startedAt: '2026-11-28T21:00:05.750Z', seconds: 5.5, result: 'pass', message: 'shenzhen serves revision 7' },
      { name: 'failback', startedAt: '2026-11-28T21:00:20.000Z', seconds: 21.5, result: 'pass', message: 'primary back and re-synced' },
    ],
    applications: [
      {
        application: 'shop/checkout',
        primaryRevision: '7',
        primaryPodTemplateHash: '6d9f7c8b5',
        targets: [
          {
            target: 'shenzhen',
            revision: '7',
            podTemplateHash: '6d9f7c8b5',
            hotUpdateStatus: 'completed',
            bundleDigest: `sha256:${'ab'.repeat(32)}`,
            keyIds: ['c0ffee'.padEnd(64, '0')],
            sequence: 12,
            postChecks: [{ name: 'smoke', type: 'http', passed: true, observed: 'HTTP 200', message: 'ok', seconds: 0.2 }],
          },
        ],
      },
    ],
  };
}

/** DR stale: the last promotion failed, so DR was one release behind at the cut. */
export function failingReport(): DrillReport {
  const r = passingReport();
  r.verdict = 'fail';
  r.reason = 'RPO 1 release (objective 0): DR was 95.0 s behind primary at the cut';
  r.rpo = { releases: 1, seconds: 95 };
  r.steps[2] = { ...r.steps[2]!, result: 'fail', message: 'shenzhen serves revision 6, expected 7' };
  r.steps[3] = { ...r.steps[3]!, result: 'skipped', message: 'skipped after a failed step' };
  r.rtoSeconds = null;
  return r;
}

/** Every character class a renderer must escape: markup, entities, quotes, CDATA end, control characters, line breaks, Markdown. */
export const HOSTILE = `<script>alert("x")</script> & 'q' ]]> \u0001\u001b[31m | *b* [l](http://e) \`c\` #h\nline2\r\nline3`;

/** A drill that failed before it cut anything: no RTO, no RPO, no steps, no applications. */
export function emptyReport(): DrillReport {
  const r = passingReport();
  r.verdict = 'fail';
  r.reason = 'refused: a promotion of shop/checkout is in flight';
  r.objectives = { rtoSeconds: null, rpoReleases: null };
  r.rtoSeconds = null;
  r.rpo = null;
  r.cut = { type: 'sandbox', at: null, undoneAt: null };
  r.steps = [];
  r.applications = [];
  return r;
}

/** Hostile strings in every free-text field a renderer shows. */
export function hostileReport(): DrillReport {
  const r = failingReport();
  r.scenario = HOSTILE;
  r.reason = HOSTILE;
  r.cut.type = HOSTILE;
  r.steps[2]!.message = HOSTILE;
  r.steps.push({ name: HOSTILE, startedAt: '2026-11-28T21:00:41.000Z', seconds: 0.5, result: 'fail', message: HOSTILE });
  const t = r.applications[0]!.targets[0]!;
  t.target = HOSTILE;
  t.hotUpdateStatus = HOSTILE;
  t.bundleDigest = HOSTILE;
  t.keyIds = [HOSTILE];
  t.postChecks.push({ name: HOSTILE, type: HOSTILE, passed: false, observed: HOSTILE, message: HOSTILE, seconds: 1 });
  r.applications[0]!.application = HOSTILE;
  return r;
}

/** `n` applications with two DR targets each. */
export function manyApplicationsReport(n: number): DrillReport {
  const r = passingReport();
  const template = r.applications[0]!;
  r.applications = Array.from({ length: n }, (_, i) => ({
    ...template,
    application: `shop/app-${i}`,
    targets: ['shenzhen', 'hong-kong'].map((target, j) => ({ ...template.targets[0]!, target, bundleDigest: `sha256:${(i * 2 + j).toString(16).padStart(64, '0')}` })),
  }));
  return r;
}
