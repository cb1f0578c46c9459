import assert from 'node:assert/strict';
import { isRelayError, type RelayErrorCode } from '../../../src/errors.js';
import { createGitHubClient, fetchGitHubManifests, parseGitHubSource, type GitHubClient } from '../../../src/github/index.js';
import { gitArchive } from '../../helpers/git-archive.js';
import {
  archiveExchanges,
  documented401ForArchive,
  documentedRateLimitForArchive,
  FIXTURE_OWNER,
  RAW_ARCHIVE_COMMIT,
  RAW_ARCHIVE_REPO,
  recorded404ForArchive,
} from '../../helpers/github-answers.js';
import { GitHubFixtureServer } from '../../helpers/github-fixture-server.js';

const TOKEN = '0000000000000000000000000000000000000001'; // the recordings' own placeholder token

async function refused(p: Promise<unknown>, code: RelayErrorCode): Promise<Error> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    assert.ok(isRelayError(err, code), `want ${code}, got ${String(err)}`);
    return true;
  });
  return caught as Error;
}

describe('github/source: manifests from a repository archive, against GitHub\'s recorded answers', function () {
  this.timeout(20_000);
  let gh: GitHubFixtureServer;
  let client: GitHubClient;
  before(async () => {
    gh = await GitHubFixtureServer.start();
  });
  beforeEach(() => {
    gh.reset();
    client = createGitHubClient({ token: TOKEN, baseUrl: gh.apiUrl, retryAfterBaseMs: 10 });
  });
  after(() => gh.stop());

  it('follows the recorded redirect to codeload and reads the commit from the real recorded archive (raw get-archive)', async () => {
    gh.serve(...archiveExchanges({ raw: true }));
    const got = await fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/${RAW_ARCHIVE_REPO}@main`));
    assert.equal(got.commit, RAW_ARCHIVE_COMMIT);
    assert.deepEqual(got.files, []); // the recorded repository holds only README.md
    assert.deepEqual(gh.pending(), []);
    const [api, codeload] = gh.received;
    assert.equal(api!.host, 'api.github.com');
    assert.equal(api!.path, `/repos/${FIXTURE_OWNER}/${RAW_ARCHIVE_REPO}/tarball/main`);
    assert.equal(api!.headers.authorization, `token ${TOKEN}`);
    assert.equal(codeload!.host, 'codeload.github.com');
    // A cross-origin redirect must not carry the token (fetch drops Authorization).
    assert.equal(codeload!.headers.authorization, undefined);
  });

  it('reads manifests under PATH from a git archive served with the recorded headers; a matching full SHA is accepted', async () => {
    const { commit, tarGz } = gitArchive({
      'apps/checkout/deploy.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n',
      'apps/checkout/svc.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n',
      'README.md': 'x',
    });
    gh.serve(...archiveExchanges({ tarGz }));
    const got = await fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main:apps/checkout`));
    assert.equal(got.commit, commit);
    assert.deepEqual(got.files, ['deploy.yaml', 'svc.yaml']);
    assert.deepEqual((got.objects as { kind: string }[]).map((o) => o.kind), ['Deployment', 'Service']);

    gh.serve(...archiveExchanges({ tarGz, ref: commit }));
    const again = await fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@${commit}:apps/checkout`));
    assert.equal(again.commit, commit);
  });

  it('refuses an archive without a commit id (normalized recording), a SHA mismatch and a missing path', async () => {
    gh.serve(...archiveExchanges());
    await refused(fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main`)), 'MALFORMED');

    const { tarGz } = gitArchive({ 'a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' });
    const other = 'f'.repeat(40);
    gh.serve(...archiveExchanges({ tarGz, ref: other }));
    await refused(fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@${other}`)), 'MALFORMED');

    gh.serve(...archiveExchanges({ tarGz }));
    await refused(fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main:deploy`)), 'GITHUB_NOT_FOUND');
  });

  it('401 → GITHUB_UNAUTHORIZED, 404 → GITHUB_NOT_FOUND, rate limit → GITHUB_RATE_LIMITED, each after one request', async () => {
    const src = parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main`);
    for (const [answer, code] of [
      [documented401ForArchive(), 'GITHUB_UNAUTHORIZED'],
      [recorded404ForArchive(), 'GITHUB_NOT_FOUND'],
      [documentedRateLimitForArchive(3600), 'GITHUB_RATE_LIMITED'],
    ] as const) {
      gh.reset();
      gh.serve(answer);
      const err = await refused(fetchGitHubManifests(client, src), code);
      assert.equal(gh.received.length, 1, `${code}: no retries of a final answer`);
      assert.doesNotMatch(err.message, new RegExp(TOKEN));
    }
  });

  it('waits for a rate limit that resets within the allowed wait, once, then downloads (plugin-throttling)', async () => {
    const { commit, tarGz } = gitArchive({ 'a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' });
    gh.serve(documentedRateLimitForArchive(1), ...archiveExchanges({ tarGz }));
    const got = await fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main`));
    assert.equal(got.commit, commit);
    assert.equal(gh.received.length, 3);
  });

  it('retries a 502 from the API (plugin-retry) and codes a persistent one GITHUB_FAILED', async () => {
    const { commit, tarGz } = gitArchive({ 'a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' });
    const [redirect] = archiveExchanges();
    const bad = { ...structuredClone(redirect!), status: 502, response: { message: 'Server Error' } };
    gh.serve(bad, ...archiveExchanges({ tarGz }));
    assert.equal((await fetchGitHubManifests(client, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main`))).commit, commit);
    gh.reset();
    const once = createGitHubClient({ token: TOKEN, baseUrl: gh.apiUrl, retries: 1, retryAfterBaseMs: 10 });
    gh.serve(bad, bad);
    await refused(fetchGitHubManifests(once, parseGitHubSource(`github:${FIXTURE_OWNER}/get-archive@main`)), 'GITHUB_FAILED');
    assert.equal(gh.received.length, 2);
  });
});
