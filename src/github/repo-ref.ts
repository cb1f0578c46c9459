import { RelayError } from '../errors.js';

/** `github:OWNER/REPO@REF[:PATH]` parsed: where manifests come from in a GitHub repository. */
export interface GitHubSourceRef {
  owner: string;
  repo: string;
  /** Branch, tag or commit SHA. */
  ref: string;
  /** Directory inside the repository, without leading or trailing `/`; "" = the whole tree. */
  path: string;
}

export const GITHUB_SOURCE_PREFIX = 'github:';

// GitHub's own limits: owners are 1–39 alphanumerics or single hyphens, repositories ≤ 100 of [A-Za-z0-9._-].
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

export function isGitHubSource(from: string): boolean {
  return from.startsWith(GITHUB_SOURCE_PREFIX);
}

/** `OWNER/REPO` → its parts; CONFIG_INVALID otherwise (used by the `github.repo` setting too). */
export function parseRepoName(text: string, what = 'repository'): { owner: string; repo: string } {
  const [owner, repo, extra] = text.split('/');
  if (owner === undefined || repo === undefined || extra !== undefined || !OWNER.test(owner) || !REPO.test(repo) || repo === '.' || repo === '..') {
    throw new RelayError('USAGE', `${what} ${JSON.stringify(text)} is not OWNER/REPO`);
  }
  return { owner, repo };
}

/**
 * Git's ref-name rules (git check-ref-format) that matter in a URL: no `..`, no control characters,
 * space, `~^:?*[\`, no `@{`, no leading `-` or `/`, no trailing `/`, `.` or `.lock`.
 */
function checkRef(ref: string): void {
  // eslint-disable-next-line no-control-regex
  const bad = ref === '' || ref.length > 255 || /[\u0000-\u0020\u007f~^:?*[\\]/.test(ref) || ref.includes('..') || ref.includes('@{') ||
    ref.includes('//') || ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.') || ref.endsWith('.lock');
  if (bad) throw new RelayError('USAGE', `ref ${JSON.stringify(ref.slice(0, 80))} is not a valid branch, tag or commit name`);
}

function normalisePath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  const segments = trimmed.split('/');
  // eslint-disable-next-line no-control-regex
  if (segments.some((s) => s === '' || s === '.' || s === '..') || /[\\\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new RelayError('USAGE', `path ${JSON.stringify(path.slice(0, 80))} must be a plain directory inside the repository (no "..", "." or empty segments)`);
  }
  return trimmed;
}

/** Parses `github:OWNER/REPO@REF[:PATH]`. Refs cannot contain `:`, so the first `:` after `@` starts PATH. */
export function parseGitHubSource(from: string): GitHubSourceRef {
  const usage = `--from ${JSON.stringify(from.slice(0, 120))}: want github:OWNER/REPO@REF[:PATH], e.g. github:acme/deploy@v1.4.0:apps/checkout`;
  if (!isGitHubSource(from)) throw new RelayError('USAGE', usage);
  const rest = from.slice(GITHUB_SOURCE_PREFIX.length);
  const at = rest.indexOf('@');
  if (at < 0) throw new RelayError('USAGE', `${usage} (the @REF part is required: a commit is recorded in the bundle)`);
  const { owner, repo } = parseRepoName(rest.slice(0, at));
  const tail = rest.slice(at + 1);
  const colon = tail.indexOf(':');
  const ref = colon < 0 ? tail : tail.slice(0, colon);
  checkRef(ref);
  return { owner, repo, ref, path: colon < 0 ? '' : normalisePath(tail.slice(colon + 1)) };
}

export function formatGitHubSource(s: GitHubSourceRef): string {
  return `${GITHUB_SOURCE_PREFIX}${s.owner}/${s.repo}@${s.ref}${s.path ? `:${s.path}` : ''}`;
}

export const FULL_SHA = /^[0-9a-f]{40}$/;
