import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCliInProcess } from './run-cli.js';
import { inspectBundle } from '../../../src/bundle/index.js';
import { tempDir } from '../../helpers/bundle-fixtures.js';
import { gitArchive } from '../../helpers/git-archive.js';
import { archiveExchanges, documented401ForArchive, documentedRateLimitForArchive, FIXTURE_OWNER, recorded404ForArchive } from '../../helpers/github-answers.js';
import { GitHubFixtureServer, type RecordedExchange } from '../../helpers/github-fixture-server.js';

const cli = runCliInProcess;

const TOKEN = '0000000000000000000000000000000000000001';

describe('CLI: bundle create --from github:OWNER/REPO@REF[:PATH] (GitHub\'s recorded answers on loopback)', function () {
  this.timeout(30_000);
  let gh: GitHubFixtureServer;
  let dir: { path: string; cleanup: () => void };
  const saved = { token: process.env.GITHUB_TOKEN, api: process.env.GITHUB_API_URL };
  before(async () => {
    gh = await GitHubFixtureServer.start();
    process.env.GITHUB_TOKEN = TOKEN;
    process.env.GITHUB_API_URL = gh.apiUrl;
  });
  after(async () => {
    await gh.stop();
    for (const [k, v] of [['GITHUB_TOKEN', saved.token], ['GITHUB_API_URL', saved.api]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  beforeEach(() => {
    gh.reset();
    dir = tempDir();
  });
  afterEach(() => dir.cleanup());

  const create = (out: string, ref = 'main:apps/checkout') =>
    cli('bundle', 'create', '--from', `github:${FIXTURE_OWNER}/get-archive@${ref}`, '--out', out, '--source-cluster', 'shanghai', '--namespace', 'shop', '--target', 'shenzhen', '--json');

  it('bundles the manifests under PATH and records the archive\'s commit as source.commit', async () => {
    const { commit, tarGz } = gitArchive({
      'apps/checkout/app.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: checkout, namespace: shop, uid: x}\nspec: {replicas: 2}\n',
      'apps/other/app.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n',
    });
    gh.serve(...archiveExchanges({ tarGz }));
    const out = join(dir.path, 'app.bundle.tar');
    const r = await create(out);
    assert.equal(r.code, 0, r.stderr);
    const inspected = await inspectBundle(out);
    assert.equal(inspected.index.source.commit, commit);
    assert.equal(inspected.index.source.name, 'checkout');
    assert.deepEqual(inspected.objects.map((o) => `${o.kind}/${o.name}`), ['Namespace/shop', 'Deployment/checkout']);
    assert.match(r.stderr, new RegExp(`read 1 manifest files from github:.* at ${commit}`));

    // --commit must agree with the archive.
    gh.serve(...archiveExchanges({ tarGz }));
    const contradicted = await cli('bundle', 'create', '--from', `github:${FIXTURE_OWNER}/get-archive@main:apps/checkout`, '--out', join(dir.path, 'x.tar'), '--commit', 'f'.repeat(40));
    assert.equal(contradicted.code, 2);
    assert.match(contradicted.stderr, /error USAGE: --commit f+ contradicts/);
  });

  const failures: [string, () => RecordedExchange, string][] = [
    ['401', documented401ForArchive, 'GITHUB_UNAUTHORIZED'],
    ['404', recorded404ForArchive, 'GITHUB_NOT_FOUND'],
    ['rate limit', () => documentedRateLimitForArchive(3600), 'GITHUB_RATE_LIMITED'],
  ];
  for (const [what, answer, code] of failures) {
    it(`${what} → exit 1 with error ${code}, no bundle file and no temporary file left`, async () => {
      gh.serve(answer());
      const out = join(dir.path, 'app.bundle.tar');
      const r = await create(out);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^error ${code}: `, 'm'));
      assert.doesNotMatch(r.stderr, new RegExp(TOKEN));
      assert.equal(existsSync(out), false);
      assert.deepEqual(readdirSync(dir.path), []);
    });
  }

  it('an archive cut off mid-download leaves no bundle file', async () => {
    const { tarGz } = gitArchive({ 'apps/checkout/app.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n' });
    gh.serve(...archiveExchanges({ tarGz: tarGz.subarray(0, Math.floor(tarGz.length / 2)) }));
    const out = join(dir.path, 'app.bundle.tar');
    const r = await create(out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error MALFORMED: /m);
    assert.deepEqual(readdirSync(dir.path), []);
  });
});
