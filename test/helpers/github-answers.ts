import { recorded, type RecordedExchange } from './github-fixture-server.js';

/**
 * Exchanges for the archive flow, built from GitHub's recorded get-archive scenario. Where the
 * recording has no such answer (401, rate limit), the recorded headers of the same request carry
 * the status and body GitHub documents for it; those helpers say so in their names.
 */
export const FIXTURE_OWNER = 'octokit-fixture-org';
export const RAW_ARCHIVE_REPO = 'tmp-scenario-get-archive-20240124204918461-o3t43';
/** The commit of the raw recording's archive (its pax header and its PUT contents answer say so). */
export const RAW_ARCHIVE_COMMIT = '900f3f818d8c2ac46196b3cdaee655d1ee986381';

/** The recorded 302 from the API and the recorded 200 from codeload, optionally with another archive body. */
export function archiveExchanges(opts: { raw?: boolean; tarGz?: Buffer; ref?: string } = {}): RecordedExchange[] {
  const kind = opts.raw ? 'raw' : 'normalized';
  const redirect = recorded('get-archive', 'GET', `/repos/${FIXTURE_OWNER}/`, kind);
  const download = recorded('get-archive', 'GET', `/${FIXTURE_OWNER}/`, kind);
  if (!redirect.path.includes('/tarball/')) throw new Error('recording changed: no tarball request');
  if (opts.ref !== undefined) redirect.path = redirect.path.replace(/\/tarball\/main$/, `/tarball/${opts.ref}`);
  if (opts.tarGz) {
    download.response = opts.tarGz.toString('hex');
    download.responseIsBinary = true;
  }
  return [redirect, download];
}

function withAnswer(base: RecordedExchange, status: number, body: unknown, headers: Record<string, string> = {}): RecordedExchange {
  const e = structuredClone(base);
  e.status = status;
  e.response = body;
  e.responseIsBinary = false;
  delete e.headers.location;
  e.headers['content-type'] = 'application/json; charset=utf-8';
  Object.assign(e.headers, headers);
  return e;
}

/** GitHub's recorded 404 ("Branch not protected", branch-protection scenario) as the answer to the tarball request. */
export function recorded404ForArchive(): RecordedExchange {
  const notFound = recorded('branch-protection', 'GET', `/repos/${FIXTURE_OWNER}/branch-protection/branches/main/protection`);
  if (notFound.status !== 404) throw new Error('recording changed: no 404');
  const [redirect] = archiveExchanges();
  return { ...notFound, path: redirect!.path };
}

/** The recorded tarball request answered with GitHub's documented 401 body. */
export function documented401ForArchive(): RecordedExchange {
  const [redirect] = archiveExchanges();
  return withAnswer(redirect!, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
}

/** The recorded tarball request answered with GitHub's documented primary rate-limit answer (403, remaining 0). */
export function documentedRateLimitForArchive(resetInSeconds: number): RecordedExchange {
  const [redirect] = archiveExchanges();
  return withAnswer(
    redirect!,
    403,
    {
      message: "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:00000:0000000:0000000:00000000.",
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      status: '403',
    },
    { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds) },
  );
}
