import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { RelayError } from '../errors.js';
import { PLUGIN_PATH } from './handler.js';

export interface PluginServerOptions {
  /** `host:port`; port 0 picks a free one. */
  listen: string;
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** PEM certificate chain and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Whole-request limit (slow clients). Default: 30000 ms. */
  requestTimeoutMs?: number;
}

export interface RunningPluginServer {
  server: Server;
  /** `http(s)://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

/** Splits `host:port` (IPv6 as `[::1]:8080`). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new RelayError('USAGE', `listen address "${listen}" must be HOST:PORT, e.g. 127.0.0.1:8443`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * The standalone `appset-plugin` server: the plugin endpoint, `/healthz`, and JSON 404s. The
 * controller's own server mounts the same handler on its listener instead.
 */
export async function startPluginServer(options: PluginServerOptions): Promise<RunningPluginServer> {
  const { host, port } = parseListen(options.listen);
  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === PLUGIN_PATH) {
      void options.handler(req, res);
      return;
    }
    const [status, body] = path === '/healthz' ? [200, { ok: true }] : [404, { error: { code: 'USAGE', message: `no endpoint ${path}; the plugin answers POST ${PLUGIN_PATH}` } }];
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, route) : createHttpServer(route);
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${actualPort}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
