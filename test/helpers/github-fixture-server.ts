/**
 * GitHub's own recorded answers (@octokit/fixtures, recorded against api.github.com and
 * codeload.github.com) served from loopback node:http servers, one per recorded host, the way
 * @octokit/fixtures-server does it: URLs of the recorded hosts in headers and JSON bodies are
 * rewritten to the loopback servers, and every request is kept for assertions. No request
 * interceptor: octokit talks real HTTP to these servers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** One recorded exchange, as in the scenarios' *-fixture.json files. */
export interface RecordedExchange {
  scope: string;
  method: string;
  path: string;
  status: number;
  response: unknown;
  responseIsBinary?: boolean;
  headers: Record<string, string | number>;
  body?: unknown;
  reqheaders?: Record<string, string | number>;
}

export interface ReceivedRequest {
  host: string;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const require = createRequire(import.meta.url);
const SCENARIOS = join(dirname(require.resolve('@octokit/fixtures/package.json')), 'scenarios', 'api.github.com');

/** A scenario's recorded exchanges: `normalized` (ids and dates normalised, as octokit's tests use) or `raw` (as recorded). */
export function loadScenario(name: string, kind: 'normalized' | 'raw' = 'normalized'): RecordedExchange[] {
  const list = JSON.parse(readFileSync(join(SCENARIOS, name, `${kind}-fixture.json`), 'utf8')) as (RecordedExchange & { rawHeaders?: string[] })[];
  // Raw recordings keep headers as nock's flat [name, value, ...] list.
  for (const e of list) {
    if (e.headers === undefined && e.rawHeaders) {
      e.headers = {};
      for (let i = 0; i + 1 < e.rawHeaders.length; i += 2) e.headers[e.rawHeaders[i]!.toLowerCase()] = e.rawHeaders[i + 1]!;
      delete e.rawHeaders;
    }
  }
  return list;
}

/** The recorded exchange of a scenario matching method and path (first match). */
export function recorded(name: string, method: string, pathPrefix: string, kind: 'normalized' | 'raw' = 'normalized'): RecordedExchange {
  const e = loadScenario(name, kind).find((x) => x.method === method.toLowerCase() && x.path.startsWith(pathPrefix));
  if (!e) throw new Error(`scenario ${name} has no ${method} ${pathPrefix}`);
  return structuredClone(e);
}

const HOSTS = ['api.github.com', 'codeload.github.com', 'uploads.github.com'] as const;
type Host = (typeof HOSTS)[number];

function hostOf(scope: string): Host {
  const h = new URL(scope).hostname as Host;
  if (!HOSTS.includes(h)) throw new Error(`unexpected recorded host ${scope}`);
  return h;
}

export class GitHubFixtureServer {
  readonly received: ReceivedRequest[] = [];
  private readonly servers = new Map<Host, Server>();
  private readonly urls = new Map<Host, string>();
  private queue: RecordedExchange[] = [];
  /** Answers computed per request (e.g. from the OpenAPI description) for routes without a recording. */
  private readonly dynamic: { method: string; path: RegExp; answer: (req: ReceivedRequest) => RecordedExchange }[] = [];

  static async start(): Promise<GitHubFixtureServer> {
    const s = new GitHubFixtureServer();
    for (const host of HOSTS) {
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const got: ReceivedRequest = { host, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
          s.received.push(got);
          const ex = s.take(got);
          if (!ex) {
            res.writeHead(599, { 'content-type': 'text/plain' }).end(`no recorded exchange for ${got.method} ${host}${got.path}`);
            return;
          }
          try {
            const { status, headers, body } = s.render(ex);
            res.writeHead(status, headers).end(body);
          } catch (err) {
            res.writeHead(599, { 'content-type': 'text/plain' }).end(`fixture server: ${String(err)}`);
          }
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      s.servers.set(host, server);
      s.urls.set(host, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
    return s;
  }

  /** Base URL standing in for https://api.github.com. */
  get apiUrl(): string {
    return this.urls.get('api.github.com')!;
  }

  /** Queues recorded exchanges; each answers one matching request, in order. */
  serve(...exchanges: RecordedExchange[]): this {
    this.queue.push(...exchanges.map((e) => structuredClone(e)));
    return this;
  }

  answer(method: string, path: RegExp, answer: (req: ReceivedRequest) => RecordedExchange): this {
    this.dynamic.push({ method: method.toUpperCase(), path, answer });
    return this;
  }

  /** Exchanges queued but never requested. */
  pending(): string[] {
    return this.queue.map((e) => `${e.method.toUpperCase()} ${hostOf(e.scope)}${e.path}`);
  }

  reset(): void {
    this.queue = [];
    this.dynamic.length = 0;
    this.received.length = 0;
  }

  async stop(): Promise<void> {
    for (const server of this.servers.values()) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private take(req: ReceivedRequest): RecordedExchange | undefined {
    const pathOnly = req.path.split('?')[0];
    const i = this.queue.findIndex((e) => hostOf(e.scope) === req.host && e.method.toUpperCase() === req.method && e.path.split('?')[0] === pathOnly);
    if (i >= 0) return this.queue.splice(i, 1)[0];
    const d = this.dynamic.find((x) => x.method === req.method && x.path.test(pathOnly ?? ''));
    return d?.answer(req);
  }

  private rewrite(text: string): string {
    let out = text;
    for (const host of HOSTS) out = out.split(`https://${host}`).join(this.urls.get(host)!);
    return out;
  }

  private render(ex: RecordedExchange): { status: number; headers: Record<string, string>; body: Buffer } {
    let body: Buffer;
    if (ex.responseIsBinary) body = Buffer.from(String(ex.response), 'hex');
    else if (typeof ex.response === 'string') body = Buffer.from(this.rewrite(ex.response), 'utf8');
    else body = Buffer.from(this.rewrite(JSON.stringify(ex.response)), 'utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(ex.headers)) {
      if (k === 'content-length' || k === 'connection' || k === 'transfer-encoding') continue;
      headers[k] = this.rewrite(String(v));
    }
    if (ex.status !== 204 && ex.status !== 304) headers['content-length'] = String(body.length);
    return { status: ex.status, headers, body: ex.status === 204 ? Buffer.alloc(0) : body };
  }
}
