import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './bundle-fixtures.js';

/**
 * A repository archive made by real `git archive`, the tool behind GitHub's tarball endpoint: a
 * gzip'd tar with the commit id in the pax global header and one top directory
 * `<prefix>-<sha7>/`, as GitHub serves it.
 */
export function gitArchive(files: Record<string, string>, opts: { prefix?: string; symlinks?: Record<string, string> } = {}): { commit: string; tarGz: Buffer } {
  const prefix = opts.prefix ?? 'octokit-fixture-org-get-archive';
  const dir = tempDir('rr-git-');
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=rollout-relay test', '-c', 'user.email=test@rollout-relay.invalid', '-c', 'init.defaultBranch=main', ...args], {
        cwd: dir.path,
        env: { ...process.env, GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' },
      });
    git('init', '-q');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir.path, path)), { recursive: true });
      writeFileSync(join(dir.path, path), text);
    }
    for (const [path, target] of Object.entries(opts.symlinks ?? {})) {
      mkdirSync(dirname(join(dir.path, path)), { recursive: true });
      symlinkSync(target, join(dir.path, path));
    }
    git('add', '-A');
    git('commit', '-q', '-m', 'manifests');
    const commit = git('rev-parse', 'HEAD').toString().trim();
    const tarGz = git('archive', '--format=tar.gz', `--prefix=${prefix}-${commit.slice(0, 7)}/`, 'HEAD');
    return { commit, tarGz };
  } finally {
    dir.cleanup();
  }
}
