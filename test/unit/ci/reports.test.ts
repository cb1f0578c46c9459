import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dotenvText, junitXml, targetVariable, writeHooksRunReports, xmlEscape } from '../../../src/ci/reports.js';
import { isRelayError } from '../../../src/errors.js';

describe('ci/reports: JUnit and dotenv reports for GitLab', () => {
  it('names per-target variables upper-case with - as _', () => {
    assert.equal(targetVariable('HOT_UPDATE_STATUS', 'shenzhen'), 'HOT_UPDATE_STATUS_SHENZHEN');
    assert.equal(targetVariable('HOT_UPDATE_STATUS', 'dr-hong-kong.2'), 'HOT_UPDATE_STATUS_DR_HONG_KONG_2');
  });

  it('writes single-line KEY=VALUE lines and refuses invalid keys', () => {
    assert.equal(dotenvText({ HOT_UPDATE_STATUS: 'completed', PROMOTION_SECONDS: '12.5', MSG: 'a\nb' }), 'HOT_UPDATE_STATUS=completed\nPROMOTION_SECONDS=12.5\nMSG=a b\n');
    assert.throws(() => dotenvText({ 'BAD-KEY': 'x' }), (err: unknown) => isRelayError(err, 'USAGE'));
  });

  it('writes a JUnit document with escaped attributes and failures counted', () => {
    const xml = junitXml({
      name: 'rollout-relay promote',
      timestamp: Date.parse('2026-01-01T00:00:00Z'),
      cases: [
        { name: 'promote shop/checkout to shenzhen', classname: 'rollout-relay.promote', seconds: 12.25 },
        { name: 'SLA <100 s>', classname: 'rollout-relay.sla', seconds: 130, failure: { type: 'SLA_BREACHED', message: 'measured 130.0 s & "more"\u0001' } },
      ],
    });
    assert.match(xml, /<testsuite name="rollout-relay promote" tests="2" failures="1" errors="0" skipped="0" time="142.250" timestamp="2026-01-01T00:00:00">/);
    assert.match(xml, /<testcase name="promote shop\/checkout to shenzhen" classname="rollout-relay.promote" time="12.250"\/>/);
    assert.match(xml, /<failure type="SLA_BREACHED" message="measured 130.0 s &amp; &quot;more&quot;\ufffd">/);
    assert.match(xml, /name="SLA &lt;100 s&gt;"/);
    assert.equal(xmlEscape("a'b"), 'a&apos;b');
  });

  it('hooks run reports: one case per hook, HOOKS_PASSED and HOOK_<NAME> in the dotenv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-ci-'));
    try {
      const paths = { junit: join(dir, 'gate.xml'), dotenv: join(dir, 'gate.env') };
      const digest = `sha256:${'ef'.repeat(32)}`;
      await writeHooksRunReports(paths, {
        application: 'shop/checkout', target: 'dr-east', state: 'completed', digest,
        results: [
          { name: 'errors', type: 'prometheus', passed: true, observed: '0', seconds: 0.4, message: 'ok' },
          { name: 'p95-latency', type: 'prometheus', passed: false, observed: '0.8', seconds: 30, message: 'want < 0.5' },
        ],
      }, Date.now());
      assert.equal(readFileSync(paths.dotenv, 'utf8'), `HOOKS_PASSED=false\nHOT_UPDATE_STATUS=completed\nHOT_UPDATE_STATUS_DR_EAST=completed\nBUNDLE_DIGEST=${digest}\nHOOK_ERRORS=passed\nHOOK_P95_LATENCY=failed\n`);
      const xml = readFileSync(paths.junit, 'utf8');
      assert.match(xml, /tests="2" failures="1"/);
      assert.match(xml, /<failure type="HOOK_FAILED" message="p95-latency: observed 0.8: want &lt; 0.5">/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
