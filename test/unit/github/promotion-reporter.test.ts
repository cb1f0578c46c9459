import assert from 'node:assert/strict';
import type { PromotionResult } from '../../../src/promote/types.js';
import { GitHubPromotionReporter, composeObservers } from '../../../src/github/index.js';
import { githubReportingSettings } from '../../../src/config/github-env.js';
import { GitHubFixtureServer, recorded } from '../../helpers/github-fixture-server.js';

const COMMIT = '0000000000000000000000000000000000000001';
const RESULT: PromotionResult = {
  application: 'shop/checkout', revision: '3', podTemplateHash: 'abc', sequence: 4, bundleDigest: `sha256:${'cd'.repeat(32)}`,
  phaseDurations: {}, commit: COMMIT, targets: [{ target: 'shenzhen', state: 'completed', message: 'ok', seconds: 12 }],
};

function logger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('github/promotion-reporter: the Promoter observer that reports on GitHub', function () {
  this.timeout(20_000);
  let gh: GitHubFixtureServer;
  before(async () => {
    gh = await GitHubFixtureServer.start();
  });
  beforeEach(() => gh.reset());
  after(() => gh.stop());

  const settings = (env: Record<string, string>) => githubReportingSettings({ repo: 'octokit-fixture-org/create-status', tokenEnv: 'RR_GH_TOKEN', deployments: false }, { GITHUB_API_URL: gh.apiUrl, ...env });

  it('reports a finished promotion through the observer; flush() waits for it', async () => {
    gh.serve(recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/'));
    const { lines, log } = logger();
    const reporter = new GitHubPromotionReporter(settings({ RR_GH_TOKEN: 'tok' }), log, { writeSpacingMs: 10 });
    const observer = composeObservers(undefined, reporter.observer());
    assert.equal(observer.onPromotion!(RESULT), undefined); // returns at once
    const [report] = await reporter.flush();
    assert.deepEqual(report!.targets.map((t) => [t.context, t.state, t.statusId]), [['rollout-relay/dr-shenzhen', 'success', 1000]]);
    assert.equal(gh.received[0]!.headers.authorization, 'token tok');
    assert.ok(lines.some((l) => l.msg === 'github status reported'));
    assert.deepEqual(await reporter.flush(), []);
  });

  it('skips without a commit, without targets, and without a token (GITHUB_UNAUTHORIZED, logged), sending nothing', async () => {
    const { lines, log } = logger();
    const reporter = new GitHubPromotionReporter(settings({}), log);
    const noCommit: PromotionResult = { ...RESULT, commit: undefined as never };
    delete noCommit.commit;
    const obs = reporter.observer();
    obs.onPromotion!(noCommit);
    obs.onPromotion!({ ...RESULT, targets: [] });
    obs.onPromotion!(RESULT);
    const reports = await reporter.flush();
    assert.match(reports[0]!.skipped!, /no source commit/);
    assert.match(reports[1]!.skipped!, /nothing was promoted/);
    assert.match(reports[2]!.skipped!, /^GITHUB_UNAUTHORIZED: RR_GH_TOKEN is empty/);
    assert.ok(lines.some((l) => l.level === 'warn' && l.obj.code === 'GITHUB_UNAUTHORIZED'));
    assert.equal(gh.received.length, 0);
  });

  it('a GitHub failure is logged with its code and returned, never thrown', async () => {
    const ok = recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/');
    gh.serve({ ...ok, status: 404, response: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } });
    const { lines, log } = logger();
    const reporter = new GitHubPromotionReporter(settings({ RR_GH_TOKEN: 'tok' }), log, { writeSpacingMs: 10 });
    reporter.observer().onPromotion!(RESULT);
    const [report] = await reporter.flush();
    assert.equal(report!.targets[0]!.code, 'GITHUB_NOT_FOUND');
    assert.ok(lines.some((l) => l.level === 'warn' && l.obj.code === 'GITHUB_NOT_FOUND'));
    assert.ok(!JSON.stringify(lines).includes('tok"'), 'the token is never logged');
  });
});
