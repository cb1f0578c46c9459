import assert from 'node:assert/strict';
import { HOT_UPDATE_STATES } from '../../../src/status/model.js';
import type { PromotionResult } from '../../../src/promote/types.js';
import {
  commitStatusState,
  createGitHubClient,
  deploymentStatusState,
  reportPromotion,
  statusDescription,
  type GitHubClient,
  type PromotionReportConfig,
} from '../../../src/github/index.js';
import { GitHubFixtureServer, recorded, type RecordedExchange } from '../../helpers/github-fixture-server.js';
import { GitHubOpenApi } from '../../helpers/github-openapi.js';

const TOKEN = '0000000000000000000000000000000000000001';
const COMMIT = '0000000000000000000000000000000000000001'; // the create-status recording's commit
const DIGEST = `sha256:${'ab'.repeat(32)}`;

const RESULT: PromotionResult = {
  application: 'shop/checkout',
  revision: '7',
  podTemplateHash: '6d4f8b9c7',
  sequence: 12,
  bundleDigest: DIGEST,
  phaseDurations: { export: 310, apply: 4100 },
  targets: [
    { target: 'shenzhen', state: 'completed', message: 'completed', seconds: 42.31 },
    { target: 'hongkong', state: 'rolled-back', code: 'HOOK_FAILED', message: 'p95 latency 0.8 > 0.5', seconds: 61.5 },
  ],
};

const CFG: PromotionReportConfig = { owner: 'octokit-fixture-org', repo: 'create-status', deployments: false };
const STATUS_ROUTE = '/repos/{owner}/{repo}/statuses/{sha}';
const DEPLOY_ROUTE = '/repos/{owner}/{repo}/deployments';
const DSTATUS_ROUTE = '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses';

/** The two recorded 201 answers to POST .../statuses/<commit>. */
function recordedStatuses(): RecordedExchange[] {
  return [recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/'), recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/')].map(
    (e, i) => (i === 1 ? { ...e, response: { ...(e.response as object), id: 1001 } } : e),
  );
}

describe('github/report: DR promotions on the promoted commit, against GitHub\'s recorded answers and OpenAPI description', function () {
  this.timeout(60_000);
  let gh: GitHubFixtureServer;
  let client: GitHubClient;
  let openapi: GitHubOpenApi;
  before(async () => {
    gh = await GitHubFixtureServer.start();
    openapi = GitHubOpenApi.load();
  });
  beforeEach(() => {
    gh.reset();
    client = createGitHubClient({ token: TOKEN, baseUrl: gh.apiUrl, retryAfterBaseMs: 10, writeSpacingMs: 10 });
  });
  after(() => gh.stop());

  it('maps hot_update_status to commit and deployment states, and keeps descriptions within 140 characters', () => {
    const states = Object.fromEntries(HOT_UPDATE_STATES.map((s) => [s, [commitStatusState(s), deploymentStatusState(s)]]));
    assert.deepEqual(states, {
      pending: ['pending', 'queued'],
      verifying: ['pending', 'in_progress'],
      applying: ['pending', 'in_progress'],
      'post-checks': ['pending', 'in_progress'],
      completed: ['success', 'success'],
      failed: ['failure', 'failure'],
      paused: ['error', 'error'],
      'rolled-back': ['failure', 'failure'],
    });
    assert.equal(statusDescription(RESULT, RESULT.targets[0]!), `completed sha256:${'ab'.repeat(6)} in 42.3 s`);
    assert.equal(statusDescription(RESULT, RESULT.targets[1]!), `rolled-back sha256:${'ab'.repeat(6)} in 61.5 s (HOOK_FAILED)`);
  });

  it('sets one commit status per target (recorded create-status answers); requests and answers match GitHub\'s OpenAPI', async () => {
    gh.serve(...recordedStatuses());
    const reports = await reportPromotion(client, CFG, RESULT, COMMIT);
    assert.deepEqual(gh.pending(), []);
    assert.deepEqual(
      reports.map((r) => [r.target, r.context, r.state, r.statusId, r.code]),
      [
        ['shenzhen', 'rollout-relay/dr-shenzhen', 'success', 1000, undefined],
        ['hongkong', 'rollout-relay/dr-hongkong', 'failure', 1001, undefined],
      ],
    );
    const bodies = gh.received.map((r) => {
      assert.equal(r.method, 'POST');
      assert.equal(r.path, `/repos/octokit-fixture-org/create-status/statuses/${COMMIT}`);
      assert.equal(r.headers.authorization, `token ${TOKEN}`);
      return JSON.parse(r.body) as Record<string, unknown>;
    });
    assert.deepEqual(bodies[0], { state: 'success', context: 'rollout-relay/dr-shenzhen', description: `completed sha256:${'ab'.repeat(6)} in 42.3 s` });
    assert.equal(bodies[1]!.state, 'failure');
    for (const b of bodies) openapi.checkRequest('POST', STATUS_ROUTE, b);
    for (const e of recordedStatuses()) openapi.checkResponse('POST', STATUS_ROUTE, 201, e.response);
  });

  it('with deployments: a deployment to dr-<target> and a deployment status, each request valid per GitHub\'s OpenAPI', async () => {
    const headers = recorded('create-status', 'POST', '/repos/octokit-fixture-org/create-status/statuses/').headers;
    let deploymentId = 41;
    gh.serve(...recordedStatuses())
      .answer('POST', /\/deployments$/, () => {
        const example = openapi.example('POST', DEPLOY_ROUTE, 201) as { id: number };
        example.id = ++deploymentId;
        return { scope: 'https://api.github.com:443', method: 'post', path: '', status: 201, headers, response: example };
      })
      .answer('POST', /\/deployments\/\d+\/statuses$/, () => ({ scope: 'https://api.github.com:443', method: 'post', path: '', status: 201, headers, response: openapi.example('POST', DSTATUS_ROUTE, 201) }));
    const reports = await reportPromotion(client, { ...CFG, deployments: true, targetUrl: 'https://ci.example/pipelines/7' }, RESULT, COMMIT);
    assert.deepEqual(reports.map((r) => [r.target, r.deploymentId, r.code]), [['shenzhen', 42, undefined], ['hongkong', 43, undefined]]);
    assert.ok(reports.every((r) => typeof r.deploymentStatusId === 'number'));

    const deployments = gh.received.filter((r) => r.path.endsWith('/deployments')).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const statuses = gh.received.filter((r) => /\/deployments\/\d+\/statuses$/.test(r.path));
    assert.equal(deployments.length, 2);
    assert.deepEqual(statuses.map((r) => r.path.split('/')[5]), ['42', '43']);
    for (const d of deployments) openapi.checkRequest('POST', DEPLOY_ROUTE, d);
    for (const s of statuses) openapi.checkRequest('POST', DSTATUS_ROUTE, JSON.parse(s.body));
    openapi.checkResponse('POST', DEPLOY_ROUTE, 201, openapi.example('POST', DEPLOY_ROUTE, 201));
    openapi.checkResponse('POST', DSTATUS_ROUTE, 201, openapi.example('POST', DSTATUS_ROUTE, 201));
    assert.deepEqual(
      deployments.map((d) => [d.ref, d.environment, d.required_contexts, d.auto_merge]),
      [
        [COMMIT, 'dr-shenzhen', [], false],
        [COMMIT, 'dr-hongkong', [], false],
      ],
    );
    assert.deepEqual((deployments[0]!.payload as Record<string, unknown>).bundleDigest, DIGEST);
    assert.deepEqual(statuses.map((s) => (JSON.parse(s.body) as { state: string; environment: string }).state), ['success', 'failure']);
    assert.deepEqual(statuses.map((s) => (JSON.parse(s.body) as { environment: string }).environment), ['dr-shenzhen', 'dr-hongkong']);
    // The invalid case is refused by the same validator (the check can fail).
    assert.throws(() => openapi.checkRequest('POST', DSTATUS_ROUTE, { state: 'completed' }), /request invalid/);
  });

  it('never throws: a recorded 422 (errors scenario), a 401 and a rate limit are coded per target and the next target is still reported', async () => {
    const validationFailed = recorded('errors', 'POST', '/repos/octokit-fixture-org/errors/labels');
    assert.equal(validationFailed.status, 422);
    const [ok] = recordedStatuses();
    const statusPath = ok!.path;
    gh.serve({ ...validationFailed, path: statusPath }, ok!);
    let reports = await reportPromotion(client, CFG, RESULT, COMMIT);
    assert.deepEqual(reports.map((r) => [r.code, r.statusId]), [['GITHUB_FAILED', undefined], [undefined, 1000]]);
    assert.match(reports[0]!.message!, /422 \(Validation Failed\)/);

    gh.reset();
    const unauthorized = { ...structuredClone(ok!), status: 401, response: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    const limited = {
      ...structuredClone(ok!),
      status: 403,
      response: { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
      headers: { ...ok!.headers, 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600) },
    };
    gh.serve(unauthorized, limited);
    reports = await reportPromotion(client, CFG, RESULT, COMMIT);
    assert.deepEqual(reports.map((r) => r.code), ['GITHUB_UNAUTHORIZED', 'GITHUB_RATE_LIMITED']);
    assert.ok(reports.every((r) => !r.message!.includes(TOKEN)));

    gh.reset();
    reports = await reportPromotion(client, CFG, RESULT, 'main');
    assert.deepEqual(reports.map((r) => r.code), ['GITHUB_FAILED', 'GITHUB_FAILED']);
    assert.equal(gh.received.length, 0, 'no request without a full commit SHA');
  });
});
