import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { parseManifestText } from '../bundle/index.js';
import { RelayError } from '../errors.js';
import { readArchiveManifests, type ArchiveLimits } from './archive.js';
import type { GitHubClient } from './client.js';
import { githubError } from './errors.js';
import { formatGitHubSource, FULL_SHA, type GitHubSourceRef } from './repo-ref.js';

export interface GitHubManifests {
  /** Full commit SHA the manifests were read at (becomes the bundle's `source.commit`). */
  commit: string;
  /** Parsed objects, in directory-walk order, ready for createBundle. */
  objects: unknown[];
  /** Manifest files read, relative to the selected path. */
  files: string[];
  archive: { entries: number; compressedBytes: number; unpackedBytes: number };
}

/**
 * Downloads the repository at `src.ref` through the archive endpoint (one request, then GitHub's
 * redirect to codeload; never one request per file), streams it through the hostile-input reader
 * and parses the manifests under `src.path`. The commit comes from the archive itself (`git
 * archive` writes it into the pax global header), so what is recorded is exactly what was read,
 * even when a branch moves meanwhile; a full SHA given as the ref must match it.
 */
export async function fetchGitHubManifests(client: GitHubClient, src: GitHubSourceRef, limits?: ArchiveLimits): Promise<GitHubManifests> {
  const what = `download ${formatGitHubSource(src)}`;
  let body: ReadableStream<Uint8Array> | null;
  try {
    const res = await client.request('GET /repos/{owner}/{repo}/tarball/{ref}', {
      owner: src.owner,
      repo: src.repo,
      ref: src.ref,
      request: { parseSuccessResponseBody: false },
    });
    body = res.data as unknown as ReadableStream<Uint8Array> | null;
  } catch (err) {
    throw githubError(err, what);
  }
  if (body === null) throw new RelayError('GITHUB_FAILED', `${what}: GitHub answered without a body`);
  let read;
  try {
    read = await readArchiveManifests(Readable.fromWeb(body), { path: src.path, ...(limits ? { limits } : {}) });
  } catch (err) {
    // A dropped connection mid-stream is GitHub's failure, not a malformed archive.
    if (err instanceof RelayError) throw err;
    throw githubError(err, what);
  }
  if (read.commit === undefined) {
    throw new RelayError('MALFORMED', `${what}: the archive carries no commit id (git archive writes one into the pax global header); refusing to guess which commit this is`);
  }
  if (FULL_SHA.test(src.ref) && src.ref !== read.commit) {
    throw new RelayError('MALFORMED', `${what}: the archive is of commit ${read.commit}, not the requested ${src.ref}`);
  }
  if (!read.pathFound) {
    throw new RelayError('GITHUB_NOT_FOUND', `${what}: path ${src.path} is not in ${src.owner}/${src.repo} at ${read.commit.slice(0, 12)}`);
  }
  const objects: unknown[] = [];
  for (const f of read.files) objects.push(...parseManifestText(f.text, f.path));
  return {
    commit: read.commit,
    objects,
    files: read.files.map((f) => f.path),
    archive: { entries: read.entries, compressedBytes: read.compressedBytes, unpackedBytes: read.unpackedBytes },
  };
}
