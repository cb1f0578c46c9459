import assert from 'node:assert/strict';
import { computeRpo, drServing, judge, releasesBehind, rtoSeconds, secondsText } from '../../../src/drill/measure.js';
import { emptyStatus } from '../../../src/status/model.js';

const T = Date.parse('2026-11-28T10:00:00Z');
const at = (s: number) => new Date(T + s * 1000).toISOString();

describe('drill RPO/RTO arithmetic', () => {
  it('in sync: 0 releases, 0 seconds', () => {
    assert.deepEqual(computeRpo({ primary: { revision: '3', podTemplateHash: 'abc' }, dr: { revision: '3', podTemplateHash: 'abc' }, history: [{ revision: '3', at: at(0) }], at: T + 60_000 }), { releases: 0, seconds: 0, behindSince: null });
  });

  it('one release behind: seconds since primary had it', () => {
    const rpo = computeRpo({ primary: { revision: '4', podTemplateHash: 'def' }, dr: { revision: '3', podTemplateHash: 'abc' }, history: [{ revision: '3', at: at(0) }, { revision: '4', at: at(100) }], at: T + 112_500 });
    assert.deepEqual(rpo, { releases: 1, seconds: 12.5, behindSince: at(100) });
  });

  it('several releases behind: counts revisions and measures from the oldest missing one', () => {
    const rpo = computeRpo({ primary: { revision: '7', podTemplateHash: 'x' }, dr: { revision: '4', podTemplateHash: 'y' }, history: [{ revision: '4', at: at(0) }, { revision: '5', at: at(30) }, { revision: '6', at: at(60) }, { revision: '7', at: at(90) }, { revision: '5', at: at(20) }], at: T + 120_000 });
    assert.equal(rpo.releases, 3);
    assert.equal(rpo.seconds, 100);
    assert.equal(rpo.behindSince, at(20));
  });

  it('DR with nothing relayed is behind by every release of primary', () => {
    assert.equal(releasesBehind({ revision: '2', podTemplateHash: 'a' }, null), 2);
    assert.equal(computeRpo({ primary: { revision: '2', podTemplateHash: 'a' }, dr: null, history: [{ revision: '1', at: at(0) }, { revision: '2', at: at(10) }], at: T + 30_000 }).seconds, 30);
  });

  it('same revision but another pod-template-hash is a different release; a hash one side does not know is not', () => {
    assert.equal(releasesBehind({ revision: '3', podTemplateHash: 'a' }, { revision: '3', podTemplateHash: 'b' }), 1);
    assert.equal(releasesBehind({ revision: '3', podTemplateHash: 'a' }, { revision: '3', podTemplateHash: '' }), 0);
    assert.equal(releasesBehind({ revision: 'v2', podTemplateHash: '' }, { revision: 'v1', podTemplateHash: '' }), 1);
    assert.equal(releasesBehind({ revision: '3', podTemplateHash: '' }, { revision: '5', podTemplateHash: '' }), 1);
  });

  it('behind without any history: releases known, seconds 0', () => {
    assert.deepEqual(computeRpo({ primary: { revision: '2', podTemplateHash: 'a' }, dr: { revision: '1', podTemplateHash: 'b' }, history: [], at: T }), { releases: 1, seconds: 0, behindSince: null });
  });

  it('DR serves the completed bundle, or the last completed one after a failed or rolled-back promotion', () => {
    assert.equal(drServing(undefined), null);
    const completed = { ...emptyStatus(), state: 'completed' as const, revision: '2', podTemplateHash: 'b', bundleDigest: 'sha256:2', sequence: 2 };
    assert.deepEqual(drServing(completed), { revision: '2', podTemplateHash: 'b', bundleDigest: 'sha256:2', sequence: 2 });
    const rolledBack = { ...completed, state: 'rolled-back' as const, revision: '3', sequence: 3, lastCompleted: { bundleDigest: 'sha256:2', sequence: 2, revision: '2', podTemplateHash: 'b', finishedAt: at(0), inventory: [] } };
    assert.deepEqual(drServing(rolledBack), { revision: '2', podTemplateHash: 'b', bundleDigest: 'sha256:2', sequence: 2 });
    assert.equal(drServing({ ...completed, state: 'failed' }), null);
  });

  it('seconds for people: two decimals below 10 s, one above', () => {
    assert.deepEqual([0.05, 1.2, 9.999, 12, 42.14].map(secondsText), ['0.05', '1.2', '10', '12.0', '42.1']);
  });

  it('RTO is cut → verified, null without either', () => {
    assert.equal(rtoSeconds(T, T + 2_345), 2.345);
    assert.equal(rtoSeconds(null, T), null);
    assert.equal(rtoSeconds(T, null), null);
  });

  it('verdict: pass within the SLA and objectives; fail naming RPO, RTO, SLA and failed steps', () => {
    const steps = [{ name: 'promote', result: 'pass' as const, message: '' }, { name: 'verify-dr', result: 'pass' as const, message: '' }];
    const ok = judge({ slaMs: 100_000, objectives: { rtoMs: 30_000, rpoReleases: 0 }, rtoSeconds: 1.2, rpo: { releases: 0, seconds: 0 }, cut: true, steps });
    assert.equal(ok.verdict, 'pass');
    assert.match(ok.reason, /RTO 1\.2 s within the 100 s SLA/);
    const stale = judge({ slaMs: 100_000, objectives: { rtoMs: null, rpoReleases: 0 }, rtoSeconds: 1.2, rpo: { releases: 1, seconds: 42.1 }, cut: true, steps });
    assert.equal(stale.verdict, 'fail');
    assert.match(stale.reason, /RPO 1 release\(s\) \(DR 42\.1 s behind primary\) exceeds the objective of 0/);
    assert.match(judge({ slaMs: 100_000, objectives: { rtoMs: null, rpoReleases: 0 }, rtoSeconds: 1, rpo: { releases: 1, seconds: 5 }, rpoWhy: 'the last promotion ended rolled-back', cut: true, steps }).reason, /exceeds the objective of 0: the last promotion ended rolled-back$/);
    assert.match(judge({ slaMs: 10_000, objectives: { rtoMs: null, rpoReleases: null }, rtoSeconds: 12, rpo: null, cut: true, steps }).reason, /RTO 12\.0 s exceeds the SLA of 10 s/);
    assert.match(judge({ slaMs: 100_000, objectives: { rtoMs: 5_000, rpoReleases: null }, rtoSeconds: 6, rpo: null, cut: true, steps }).reason, /exceeds the objective of 5 s/);
    const failed = judge({ slaMs: 100_000, objectives: { rtoMs: null, rpoReleases: null }, rtoSeconds: null, rpo: null, cut: true, steps: [{ name: 'verify-dr', result: 'fail', message: 'shenzhen is rolled-back\nmore' }], interrupted: 'interrupted: SIGINT' });
    assert.equal(failed.verdict, 'fail');
    assert.equal(failed.reason, 'interrupted: SIGINT; verify-dr failed: shenzhen is rolled-back');
    assert.equal(judge({ slaMs: 100_000, objectives: { rtoMs: null, rpoReleases: 1 }, rtoSeconds: null, rpo: { releases: 1, seconds: 3 }, cut: false, steps }).verdict, 'pass');
  });
});
