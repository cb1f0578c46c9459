import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * The wire under UntypedObjectApi: one request in, status + body text out, nothing else.
 *
 * An apply sends hundreds of small requests; what they cost on our side (and the API server's, on
 * the same cores in a small cluster) is mostly per-request overhead, not the bodies. So a transport
 * resolves TLS material and credentials once, and talks HTTP/2 over one TLS connection, multiplexed
 * (as kubectl and client-go do): one handshake per run instead of one per concurrent request. A
 * server that does not offer HTTP/2, or a plain-HTTP server, gets HTTP/1.1 with keep-alive.
 * One transport per KubeConfig, shared by every client made from it.
 */
export interface ApiResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export interface ApiRequest {
  method: string;
  /** Path with its query string. */
  path: string;
  contentType?: string;
  body?: string;
}


export interface ApiStreamEnd {
  /** 0 when the connection broke before a response. */
  status: number;
  /** The body of a non-2xx response. */
  body: string;
}

export interface ApiStream {
  /** Settles when the response ends or is cancelled; rejects on a transport error. */
  done: Promise<ApiStreamEnd>;
  cancel(): void;
}

/** How a KubeConfig's current context connects: resolved once for static credentials. */
interface Connection {
  origin: string;
  tls: Pick<RequestOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'servername' | 'rejectUnauthorized'>;
  headers: Record<string, string>;
}

/** Material that may rotate while we run (exec plugins, auth providers) is resolved per request. */
function hasDynamicCredentials(kc: KubeConfig): boolean {
  const user = kc.getCurrentUser();
  return !!(user?.exec || user?.authProvider);
}

async function resolveConnection(kc: KubeConfig): Promise<Connection> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const opts: RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = String(v);
  if (opts.auth && !headers.authorization) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  const tls: Connection['tls'] = {};
  for (const k of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized'] as const) {
    if (opts[k] !== undefined) (tls as Record<string, unknown>)[k] = opts[k];
  }
  return { origin: cluster.server.replace(/\/+$/, ''), tls, headers };
}

function sameTls(a: Connection['tls'], b: Connection['tls']): boolean {
  const eq = (x: unknown, y: unknown): boolean => (Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y);
  return (['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'rejectUnauthorized'] as const).every((k) => eq(a[k], b[k]));
}

const SINGLE_VALUE = (headers: IncomingHttpHeaders | IncomingMessage['headers']): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !k.startsWith(':')) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
};

/**
 * One HTTP/2 session, reconnected on demand after GOAWAY or a broken connection. Streams of a
 * session that breaks fail with the transport error (callers see an unreachable cluster, as with
 * any other transport error); the next request opens a new session.
 */
class Http2Transport {
  readonly protocol = 'h2';
  private session: ClientHttp2Session | undefined;
  private inFlight = 0;

  /** `first`: an already negotiated TLS connection for the first session. */
  constructor(private readonly conn: Connection, private first?: TLSSocket) {}

  private open(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const socket = this.first;
    this.first = undefined;
    const session = connect(this.conn.origin, { ...this.conn.tls, ALPNProtocols: ['h2'], ...(socket ? { createConnection: () => socket } : {}) });
    // A broken session only fails its own streams; without this listener it would crash the process.
    session.on('error', () => undefined);
    session.on('goaway', () => this.drop(session));
    session.on('close', () => this.drop(session));
    session.unref();
    this.session = session;
    return session;
  }

  private drop(session: ClientHttp2Session): void {
    if (this.session === session) this.session = undefined;
  }

  async request(req: ApiRequest, extraHeaders: Record<string, string> = {}): Promise<ApiResponse> {
    try {
      return await this.once(req, extraHeaders);
    } catch (err) {
      // The server closed the connection (GOAWAY, e.g. at its connection age limit) before it took
      // this stream: the request was never processed, so one retry on a new connection is safe.
      if (!neverProcessed(err)) throw err;
      return this.once(req, extraHeaders);
    }
  }

  private once(req: ApiRequest, extraHeaders: Record<string, string>): Promise<ApiResponse> {
    const session = this.open();
    const headers: OutgoingHttpHeaders = {
      ...this.conn.headers,
      ...extraHeaders,
      [constants.HTTP2_HEADER_METHOD]: req.method,
      [constants.HTTP2_HEADER_PATH]: req.path,
      accept: 'application/json',
    };
    if (req.contentType) headers['content-type'] = req.contentType;
    // Keep the process alive only while a request is in flight (an idle session must not hold it).
    if (this.inFlight++ === 0) session.ref();
    return new Promise<ApiResponse>((resolve, reject) => {
      const stream = session.request(headers, { endStream: req.body === undefined });
      let status = 0;
      let responseHeaders: Record<string, string> = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 0);
        responseHeaders = SINGLE_VALUE(h);
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status, body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'), headers: responseHeaders }));
      stream.on('error', (e) => reject(Object.assign(e, { rstCode: stream.rstCode })));
      stream.on('close', () => {
        if (stream.rstCode !== constants.NGHTTP2_NO_ERROR && status === 0) reject(Object.assign(new Error(`HTTP/2 stream closed with code ${stream.rstCode}`), { rstCode: stream.rstCode }));
      });
      if (req.body !== undefined) stream.end(req.body);
    }).finally(() => {
      if (--this.inFlight === 0 && !session.destroyed) session.unref();
    });
  }

  /** A long-running response (a watch): chunks as they arrive; non-2xx statuses end with their body. */
  stream(req: ApiRequest, onChunk: (chunk: Buffer) => void, extraHeaders: Record<string, string> = {}): ApiStream {
    const session = this.open();
    const headers: OutgoingHttpHeaders = { ...this.conn.headers, ...extraHeaders, [constants.HTTP2_HEADER_METHOD]: req.method, [constants.HTTP2_HEADER_PATH]: req.path, accept: 'application/json' };
    if (this.inFlight++ === 0) session.ref();
    let cancel = (): void => undefined;
    const done = new Promise<ApiStreamEnd>((resolve, reject) => {
      const stream = session.request(headers, { endStream: true });
      cancel = () => {
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
      let status = 0;
      const errorBody: Buffer[] = [];
      stream.on('response', (h) => (status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 0)));
      stream.on('data', (c: Buffer) => (status >= 200 && status < 300 ? onChunk(c) : errorBody.push(c)));
      stream.on('error', reject);
      stream.on('close', () => resolve({ status, body: Buffer.concat(errorBody).toString('utf8') }));
    }).finally(() => {
      if (--this.inFlight === 0 && !session.destroyed) session.unref();
    });
    return { done, cancel: () => cancel() };
  }

  close(): void {
    this.first?.destroy();
    this.first = undefined;
    this.session?.close();
    this.session = undefined;
  }
}

function neverProcessed(err: unknown): boolean {
  const e = err as { code?: unknown; rstCode?: unknown } | null;
  return e?.code === 'ERR_HTTP2_GOAWAY_SESSION' || e?.code === 'ERR_HTTP2_INVALID_SESSION' || e?.rstCode === constants.NGHTTP2_REFUSED_STREAM;
}

/** HTTP/1.1 with a keep-alive pool: plain-HTTP servers and servers without HTTP/2. */
class Http1Transport {
  readonly protocol = 'http/1.1';
  private readonly agent: Agent | undefined;
  private readonly url: URL;

  constructor(private readonly conn: Connection, maxSockets: number) {
    this.url = new URL(conn.origin);
    this.agent = this.url.protocol === 'http:' ? undefined : new Agent({ keepAlive: true, maxSockets, ...conn.tls });
  }

  request(req: ApiRequest, extraHeaders: Record<string, string> = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...this.conn.headers, ...extraHeaders, accept: 'application/json' };
    if (req.contentType) headers['content-type'] = req.contentType;
    const send = this.agent ? httpsRequest : httpRequest;
    const basePath = this.url.pathname === '/' ? '' : this.url.pathname;
    return new Promise((resolve, reject) => {
      const r = send({ protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, path: basePath + req.path, method: req.method, headers, ...(this.agent ? { agent: this.agent } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: SINGLE_VALUE(res.headers) }));
      });
      r.on('error', reject);
      r.end(req.body);
    });
  }

  stream(req: ApiRequest, onChunk: (chunk: Buffer) => void, extraHeaders: Record<string, string> = {}): ApiStream {
    const headers: Record<string, string> = { ...this.conn.headers, ...extraHeaders, accept: 'application/json' };
    const send = this.agent ? httpsRequest : httpRequest;
    const basePath = this.url.pathname === '/' ? '' : this.url.pathname;
    let r: ReturnType<typeof send> | undefined;
    const done = new Promise<ApiStreamEnd>((resolve, reject) => {
      r = send({ protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, path: basePath + req.path, method: req.method, headers, ...(this.agent ? { agent: this.agent } : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        const errorBody: Buffer[] = [];
        res.on('data', (c: Buffer) => (status >= 200 && status < 300 ? onChunk(c) : errorBody.push(c)));
        res.on('error', () => resolve({ status, body: '' }));
        res.on('close', () => resolve({ status, body: Buffer.concat(errorBody).toString('utf8') }));
      });
      r.on('error', reject);
      r.end();
    });
    return { done, cancel: () => r?.destroy() };
  }

  close(): void {
    this.agent?.destroy();
  }
}

/** Transport choice: 'auto' (HTTP/2 over TLS when the server offers it, else HTTP/1.1), or forced. */
export type TransportProtocol = 'auto' | 'h2' | 'http/1.1';

/**
 * The transport for a KubeConfig's current context, resolved on first use: credentials that can
 * change (exec plugins, auth providers) are re-read per request and a changed client certificate
 * opens a new connection; static ones are read once.
 */
export class KubeTransport {
  private conn: Connection | undefined;
  private inner: Promise<Http2Transport | Http1Transport> | undefined;
  private settled: Http2Transport | Http1Transport | undefined;

  /** hasDynamicCredentials of the current context, looked up once per context (not once per request). */
  private dynamic: { context: string; value: boolean } | undefined;

  constructor(private readonly kc: KubeConfig, private readonly preferred: TransportProtocol = 'auto', private readonly maxSockets = 64) {}

  private dynamicCredentials(): boolean {
    const context = this.kc.getCurrentContext();
    if (this.dynamic?.context !== context) this.dynamic = { context, value: hasDynamicCredentials(this.kc) };
    return this.dynamic.value;
  }

  private async pick(conn: Connection): Promise<Http2Transport | Http1Transport> {
    if (this.preferred === 'http/1.1' || conn.origin.startsWith('http:')) return new Http1Transport(conn, this.maxSockets);
    if (this.preferred === 'h2') return new Http2Transport(conn);
    // Offer both; the server's choice (ALPN) decides. The probe's connection becomes the first HTTP/2 session.
    const socket = await tlsConnection(conn, ['h2', 'http/1.1']);
    if (socket.alpnProtocol === 'h2') return new Http2Transport(conn, socket);
    socket.destroy();
    return new Http1Transport(conn, this.maxSockets);
  }

  private async current(): Promise<{ transport: Http2Transport | Http1Transport; headers: Record<string, string> }> {
    if (this.inner && !this.dynamicCredentials()) return { transport: await this.inner, headers: {} };
    const conn = await resolveConnection(this.kc);
    if (!this.conn || !this.inner || this.conn.origin !== conn.origin || !sameTls(this.conn.tls, conn.tls)) {
      this.settled?.close();
      this.settled = undefined;
      this.conn = conn;
      const inner = this.pick(conn);
      this.inner = inner;
      inner.then((t) => (this.settled = t), () => {
        // An unreachable server is retried on the next request, not remembered.
        if (this.inner === inner) this.inner = undefined;
      });
    }
    // Dynamic credentials: this request's headers (a refreshed token) win over those at connect time.
    return { transport: await this.inner!, headers: conn.headers };
  }

  async request(req: ApiRequest): Promise<ApiResponse> {
    const { transport, headers } = await this.current();
    for (const observe of observers) observe(req);
    return transport.request(req, headers);
  }

  /** Opens a long-running request (a watch). */
  async stream(req: ApiRequest, onChunk: (chunk: Buffer) => void): Promise<ApiStream> {
    const { transport, headers } = await this.current();
    for (const observe of observers) observe(req);
    return transport.stream(req, onChunk, headers);
  }

  /** The protocol in use ('h2' or 'http/1.1'), connecting if needed. */
  async protocol(): Promise<'h2' | 'http/1.1'> {
    return (await this.current()).transport.protocol;
  }

  close(): void {
    this.settled?.close();
    this.settled = undefined;
    this.inner = undefined;
  }
}

/** A TLS connection to the server with the context's TLS material, offering `alpn`. */
function tlsConnection(conn: Connection, alpn: string[]): Promise<TLSSocket> {
  const url = new URL(conn.origin);
  // SNI carries host names only, never IP addresses.
  const servername = conn.tls.servername ?? (isIP(url.hostname.replace(/^\[|\]$/g, '')) ? undefined : url.hostname);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), ...conn.tls, ...(servername ? { servername } : {}), ALPNProtocols: alpn }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

const observers = new Set<(req: ApiRequest) => void>();

/** Calls `fn` for every request sent (method and path only are meant to be read: benchmarks count requests). */
export function observeRequests(fn: (req: ApiRequest) => void): () => void {
  observers.add(fn);
  return () => observers.delete(fn);
}

const transports = new WeakMap<KubeConfig, KubeTransport>();

/** The shared transport of a KubeConfig (one HTTP/2 connection per context for every client made from it). */
export function transportFor(kc: KubeConfig): KubeTransport {
  let t = transports.get(kc);
  if (!t) {
    t = new KubeTransport(kc, transportPreference());
    transports.set(kc, t);
  }
  return t;
}

/** ROLLOUT_RELAY_HTTP=http1 forces HTTP/1.1 (for comparison or a proxy that cannot do HTTP/2). */
function transportPreference(): TransportProtocol {
  const v = process.env.ROLLOUT_RELAY_HTTP;
  return v === 'http1' ? 'http/1.1' : v === 'h2' ? 'h2' : 'auto';
}
