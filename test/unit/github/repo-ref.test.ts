import assert from 'node:assert/strict';
import { isRelayError } from '../../../src/errors.js';
import { formatGitHubSource, parseGitHubSource, parseRepoName } from '../../../src/github/index.js';
import { githubEnv } from '../../../src/config/github-env.js';

describe('github/repo-ref: github:OWNER/REPO@REF[:PATH]', () => {
  it('parses owner, repo, ref (slashes allowed) and a normalised path', () => {
    assert.deepEqual(parseGitHubSource('github:acme/deploy@main'), { owner: 'acme', repo: 'deploy', ref: 'main', path: '' });
    assert.deepEqual(parseGitHubSource('github:acme/deploy.k8s@release/v1.4:apps/checkout/'), { owner: 'acme', repo: 'deploy.k8s', ref: 'release/v1.4', path: 'apps/checkout' });
    assert.equal(formatGitHubSource(parseGitHubSource('github:a-b/c@v1:x/y')), 'github:a-b/c@v1:x/y');
  });

  for (const bad of ['acme/deploy@main', 'github:acme/deploy', 'github:acme@main', 'github:-acme/deploy@main', 'github:acme/de/ploy@main', 'github:acme/..@main',
    'github:acme/deploy@', 'github:acme/deploy@a..b', 'github:acme/deploy@-x', 'github:acme/deploy@a b', 'github:acme/deploy@x.lock', 'github:acme/deploy@main:../etc',
    'github:acme/deploy@main:a/./b', 'github:acme/deploy@main:a\\b']) {
    it(`refuses ${JSON.stringify(bad)} with USAGE`, () => {
      assert.throws(() => parseGitHubSource(bad), (err: unknown) => isRelayError(err, 'USAGE'));
    });
  }

  it('parses OWNER/REPO for the github.repo setting', () => {
    assert.deepEqual(parseRepoName('octo-org/app'), { owner: 'octo-org', repo: 'app' });
    assert.throws(() => parseRepoName('octo-org'), (err: unknown) => isRelayError(err, 'USAGE'));
  });

  it('takes the token from the named variable and the API URL from GITHUB_API_URL', () => {
    assert.deepEqual(githubEnv('GH_PAT', { GH_PAT: ' t0k ', GITHUB_API_URL: 'https://ghe.example/api/v3' }), { token: 't0k', baseUrl: 'https://ghe.example/api/v3' });
    assert.deepEqual(githubEnv('GITHUB_TOKEN', { GITHUB_TOKEN: '' }), { baseUrl: 'https://api.github.com' });
  });
});
