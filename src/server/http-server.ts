import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RelayError } from '../errors.js';
import type { Logger } from '../log.js';
import { checkBearer, type BearerCheck } from './auth.js';
import type { RelayMetrics } from './metrics.js';

/** What the endpoints of design §10 ask the controller. */
export interface ServerHandlers {
  /** Ready = watches synced and, with leader election, a leader is known; `detail` is served as JSON. */
  readiness(): { ready: boolean; detail: Record<string, unknown> };
  /** A hint to re-read one workload; never trusted for what to promote. */
  notify(ref: { namespace: string; name: string }): void;
  /** The read API; undefined = no such application. */
  applicationStatus(namespace: string, name: string): Promise<unknown>;
}

export interface ServerConfig {
  /** host:port; ":8080" = all interfaces. */
  listen: string;
  /** Token for POST /api/v1/notify; undefined = notify is off (404). */
  notifyToken?: string;
  /** Token for GET /api/v1/applications/...; default: the notify token. */
  statusToken?: string;
  /** Largest request body accepted. Default: 4 KiB (a notify body is ~100 bytes). */
  maxBodyBytes?: number;
  /** Whole-request limit. Default: 10 s. */
  requestTimeoutMs?: number;
  /**
   * More endpoints by exact path, each with its own authentication: the ApplicationSet plugin
   * generator (`POST /api/v1/getparams.execute`, src/plugin) mounts here when `plugin.listen` is unset.
   */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>;
}

export interface RunningServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Splits `host:port` (IPv6 in brackets); an empty host means all interfaces. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new RelayError('CONFIG_INVALID', `server.listen "${listen}" must be host:port, e.g. 127.0.0.1:8080`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function refuseAuth(res: ServerResponse, check: BearerCheck): void {
  if (check === 'missing') send(res, 401, { error: 'UNAUTHORIZED', message: 'send Authorization: Bearer <token>' }, { 'WWW-Authenticate': 'Bearer' });
  else send(res, 403, { error: 'FORBIDDEN', message: 'the bearer token is not valid for this endpoint' });
}

/** Reads a body up to `limit` bytes; resolves undefined (after answering 413) when it is larger. */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    send(res, 413, { error: 'TOO_LARGE', message: `request body is limited to ${limit} bytes` }, { Connection: 'close' });
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        send(res, 413, { error: 'TOO_LARGE', message: `request body is limited to ${limit} bytes` }, { Connection: 'close' });
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * The controller's HTTP endpoints (design §10): /healthz, /readyz, /metrics, POST /api/v1/notify,
 * GET /api/v1/applications/{namespace}/{name}. Each API family has its own bearer token, compared
 * in constant time; bodies and requests are bounded in size and time.
 */
export async function startServer(cfg: ServerConfig, handlers: ServerHandlers, metrics: RelayMetrics, log: Logger): Promise<RunningServer> {
  const { host, port } = parseListen(cfg.listen);
  const maxBody = cfg.maxBodyBytes ?? 4096;
  const statusToken = cfg.statusToken ?? cfg.notifyToken;

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/healthz' && req.method === 'GET') return send(res, 200, 'ok\n');
    if (path === '/readyz' && req.method === 'GET') {
      const r = handlers.readiness();
      return send(res, r.ready ? 200 : 503, { ready: r.ready, ...r.detail });
    }
    if (path === '/metrics' && req.method === 'GET') {
      const text = await metrics.text();
      res.writeHead(200, { 'Content-Type': metrics.contentType });
      res.end(text);
      return;
    }
    if (path === '/api/v1/notify') {
      if (req.method !== 'POST') return send(res, 405, { error: 'METHOD_NOT_ALLOWED', message: 'use POST' }, { Allow: 'POST' });
      if (!cfg.notifyToken) return send(res, 404, { error: 'NOT_FOUND', message: 'notify is off: set server.tokenFile' });
      const check = checkBearer(req.headers.authorization, cfg.notifyToken);
      if (check !== 'ok') return refuseAuth(res, check);
      const body = await readBody(req, res, maxBody);
      if (!body) return;
      let ref: { namespace?: unknown; name?: unknown };
      try {
        ref = JSON.parse(body.toString('utf8')) as typeof ref;
      } catch {
        return send(res, 400, { error: 'MALFORMED', message: 'body must be JSON {"namespace": "...", "name": "..."}' });
      }
      if (typeof ref?.namespace !== 'string' || typeof ref.name !== 'string' || !DNS_LABEL.test(ref.namespace) || !DNS_SUBDOMAIN.test(ref.name) || ref.name.length > 253) {
        return send(res, 400, { error: 'MALFORMED', message: 'body must be JSON {"namespace": "...", "name": "..."} with Kubernetes names' });
      }
      handlers.notify({ namespace: ref.namespace, name: ref.name });
      return send(res, 202, { accepted: true, message: 'the workload will be re-read; what is promoted is judged from its own status' });
    }
    const app = /^\/api\/v1\/applications\/([^/]+)\/([^/]+)$/.exec(path);
    if (app) {
      if (req.method !== 'GET') return send(res, 405, { error: 'METHOD_NOT_ALLOWED', message: 'use GET' }, { Allow: 'GET' });
      if (!statusToken) return send(res, 404, { error: 'NOT_FOUND', message: 'the read API is off: set server.statusTokenFile or server.tokenFile' });
      const check = checkBearer(req.headers.authorization, statusToken);
      if (check !== 'ok') return refuseAuth(res, check);
      const [namespace, name] = [decodeURIComponent(app[1]!), decodeURIComponent(app[2]!)];
      if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) return send(res, 400, { error: 'MALFORMED', message: 'namespace and name must be DNS-1123 labels' });
      const view = await handlers.applicationStatus(namespace, name);
      if (view === undefined) return send(res, 404, { error: 'NOT_FOUND', message: `no selected workload belongs to application ${namespace}/${name}` });
      return send(res, 200, view);
    }
    const extra = cfg.routes?.[path];
    if (extra) return extra(req, res);
    return send(res, 404, { error: 'NOT_FOUND', message: `endpoints: /healthz /readyz /metrics /api/v1/notify /api/v1/applications/{namespace}/{name}${Object.keys(cfg.routes ?? {}).map((p) => ` ${p}`).join('')}` });
  };

  const server: Server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: cfg.requestTimeoutMs ?? 10_000, headersTimeout: 5_000 }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err), path: req.url?.split('?')[0] }, 'request failed');
      if (!res.headersSent) send(res, 500, { error: 'INTERNAL', message: 'the request failed; see the controller log' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new RelayError('CONFIG_INVALID', `cannot listen on ${cfg.listen}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  log.info({ host: addr.address, port: addr.port }, 'http server listening');
  return {
    host: addr.address,
    port: addr.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
