import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import { ClusterUnreachableError } from './api-errors.js';
import { seconds, SessionHealth } from './http2-health.js';

/**
 * The wire under UntypedObjectApi: one request in, status + body text out, nothing else.
 *
 * An apply sends hundreds of small requests; what they cost on our side (and the API server's, on
 * the same cores in a small cluster) is mostly per-request overhead, not the bodies. So a transport
 * resolves TLS material and credentials once, and talks HTTP/2 over one TLS connection, multiplexed
 * (as kubectl and client-go do): one handshake per run instead of one per concurrent request. A
 * server that does not offer HTTP/2, or a plain-HTTP server, gets HTTP/1.1 with keep-alive.
 * One transport per KubeConfig, shared by every client made from it.
 *
 * Every call is bounded in time, as a careful client-go user sets it up: a request (not a watch)
 * that gets no answer within `requestTimeoutMs` is cancelled (RST_STREAM) and fails
 * CLUSTER_UNREACHABLE; an HTTP/2 connection that has read nothing for `readIdleTimeoutMs` is sent
 * a PING, and one that does not answer within `pingTimeoutMs` is closed, failing its requests and
 * watches CLUSTER_UNREACHABLE; the next request opens a new connection.
 */
export interface TransportTimeouts {
  /** Bound of one request that is not a watch (429 retries included). Default: 60 000. */
  requestTimeoutMs: number;
  /** HTTP/2: nothing read for this long → PING (client-go ReadIdleTimeout). Default: 30 000. */
  readIdleTimeoutMs: number;
  /** HTTP/2: PING unanswered this long → close the connection (client-go PingTimeout). Default: 15 000. */
  pingTimeoutMs: number;
}

export const DEFAULT_TRANSPORT_TIMEOUTS: Readonly<TransportTimeouts> = Object.freeze({ requestTimeoutMs: 60_000, readIdleTimeoutMs: 30_000, pingTimeoutMs: 15_000 });

/** TCP + TLS handshake of a first connection (client-go: 30 s dial, 10 s TLS); never more than the request timeout. */
const CONNECT_TIMEOUT_MS = 30_000;

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
  /** When the answer must be in (several attempts of one call share one); default: now + requestTimeoutMs. */
  deadline?: RequestDeadline;
}

export interface RequestDeadline {
  /** Epoch ms. */
  at: number;
  /** The whole bound, for the message. */
  timeoutMs: number;
}

/** The path without its query: what error messages name. */
function pathOf(req: Pick<ApiRequest, 'path'>): string {
  const q = req.path.indexOf('?');
  return q < 0 ? req.path : req.path.slice(0, q);
}

/** The coded error of a request that got no answer in time (also used for client-node's generated APIs: kubeconfig.ts). */
export function requestTimedOut(req: Pick<ApiRequest, 'method' | 'path'>, server: string, timeoutMs: number, detail = 'got no answer'): ClusterUnreachableError {
  return new ClusterUnreachableError(`${req.method} ${pathOf(req)} ${detail} from ${server} within the ${seconds(timeoutMs)} request timeout and was cancelled; the API server may be down, frozen, overloaded or unreachable: check it (the next request retries, over a new connection if this one is dead)`);
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

/** One HTTP/2 session and what the transport knows about it. */
interface Session {
  h2: ClientHttp2Session;
  health: SessionHealth;
  /** Set once the session is declared dead: its streams fail with this. */
  failure?: ClusterUnreachableError;
}

/**
 * One HTTP/2 session, reconnected on demand after GOAWAY, a broken connection or a failed health
 * check (see http2-health.ts). Streams of a session that breaks fail CLUSTER_UNREACHABLE naming the
 * request; the next request opens a new session.
 */
class Http2Transport {
  readonly protocol = 'h2';
  private session: Session | undefined;
  private inFlight = 0;
  /** Sessions opened so far (a reconnect shows as +1). */
  sessionsOpened = 0;

  /** `first`: an already negotiated TLS connection for the first session. */
  constructor(private readonly conn: Connection, private readonly timeouts: TransportTimeouts, private first?: TLSSocket) {}

  private open(): Session {
    const current = this.session;
    if (current && !current.failure && !current.h2.closed && !current.h2.destroyed) return current;
    const socket = this.first;
    this.first = undefined;
    const h2 = connect(this.conn.origin, { ...this.conn.tls, ALPNProtocols: ['h2'], ...(socket ? { createConnection: () => socket } : {}) });
    const s: Session = {
      h2,
      health: new SessionHealth(h2, this.timeouts, (why) => this.fail(s, `the connection to ${this.conn.origin} failed its health check (${why}) and was closed`)),
    };
    // A broken session only fails its own streams; without this listener it would crash the process.
    h2.on('error', () => undefined);
    h2.on('goaway', () => this.drop(s));
    h2.on('close', () => {
      s.health.stop();
      this.drop(s);
    });
    h2.on('ping', () => s.health.sawRead());
    h2.unref();
    this.session = s;
    this.sessionsOpened++;
    return s;
  }

  private drop(s: Session): void {
    if (this.session === s) this.session = undefined;
  }

  /** Declares a session dead: no new request goes to it, and its streams fail with `why`. */
  private fail(s: Session, why: string): void {
    s.failure ??= new ClusterUnreachableError(`${why}; check that the API server is up and reachable (the next request opens a new connection)`);
    this.drop(s);
    s.health.stop();
    if (!s.h2.destroyed) s.h2.destroy(s.failure);
  }

  /** Why a stream of `s` failed, as the coded error naming the request. */
  private streamFailure(s: Session, req: ApiRequest, err: unknown): unknown {
    if (err instanceof ClusterUnreachableError && err !== s.failure) return err; // this request's own timeout
    if (s.failure) return new ClusterUnreachableError(`${req.method} ${pathOf(req)} was cut off: ${s.failure.message}`, { cause: s.failure });
    if (neverProcessed(err)) return err; // retried once by request()
    const e = err as { message?: string; code?: unknown };
    const detail = `${e?.message ?? String(err)}${typeof e?.code === 'string' && !e.message?.includes(e.code) ? ` (${e.code})` : ''}`;
    return new ClusterUnreachableError(`${req.method} ${pathOf(req)} failed: the connection to ${this.conn.origin} broke (${detail}); check that the API server is up and reachable (the next request opens a new connection)`, { cause: err });
  }

  async request(req: ApiRequest, extraHeaders: Record<string, string>, signal: AbortSignal): Promise<ApiResponse> {
    try {
      return await this.once(req, extraHeaders, signal);
    } catch (err) {
      // The server closed the connection (GOAWAY, e.g. at its connection age limit) before it took
      // this stream: the request was never processed, so one retry on a new connection is safe.
      if (!neverProcessed(err) || signal.aborted) throw err;
      return this.once(req, extraHeaders, signal);
    }
  }

  private once(req: ApiRequest, extraHeaders: Record<string, string>, signal: AbortSignal): Promise<ApiResponse> {
    const s = this.open();
    const session = s.h2;
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
    let onAbort = (): void => undefined;
    return new Promise<ApiResponse>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        reject(this.streamFailure(s, req, err));
      };
      const stream = session.request(headers, { endStream: req.body === undefined });
      onAbort = () => {
        // Timed out: RST_STREAM (CANCEL) frees the server's side too, and the connection gets checked now.
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
        fail(signal.reason);
        s.health.checkNow();
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      let status = 0;
      let responseHeaders: Record<string, string> = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        s.health.sawRead();
        status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 0);
        responseHeaders = SINGLE_VALUE(h);
      });
      stream.on('data', (c: Buffer) => {
        s.health.sawRead();
        chunks.push(c);
      });
      stream.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status, body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'), headers: responseHeaders });
      });
      stream.on('error', (e) => fail(Object.assign(e, { rstCode: stream.rstCode })));
      // Closed before the response ended (reset by the server, or the session went away): never leave the caller waiting.
      stream.on('close', () => fail(Object.assign(new Error(`HTTP/2 stream closed with code ${stream.rstCode} before the response ended`), { rstCode: stream.rstCode })));
      if (req.body !== undefined) stream.end(req.body);
    }).finally(() => {
      signal.removeEventListener('abort', onAbort);
      if (--this.inFlight === 0 && !session.destroyed) session.unref();
    });
  }

  /**
   * A long-running response (a watch): chunks as they arrive; non-2xx statuses end with their body.
   * No request timeout (the server ends a watch at its timeoutSeconds); the connection's health check bounds it.
   */
  stream(req: ApiRequest, onChunk: (chunk: Buffer) => void, extraHeaders: Record<string, string> = {}): ApiStream {
    const s = this.open();
    const session = s.h2;
    const headers: OutgoingHttpHeaders = { ...this.conn.headers, ...extraHeaders, [constants.HTTP2_HEADER_METHOD]: req.method, [constants.HTTP2_HEADER_PATH]: req.path, accept: 'application/json' };
    if (this.inFlight++ === 0) session.ref();
    let cancel = (): void => undefined;
    const done = new Promise<ApiStreamEnd>((resolve, reject) => {
      const stream = session.request(headers, { endStream: true });
      let cancelled = false;
      cancel = () => {
        cancelled = true;
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
      let status = 0;
      const errorBody: Buffer[] = [];
      stream.on('response', (h) => {
        s.health.sawRead();
        status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 0);
      });
      stream.on('data', (c: Buffer) => {
        s.health.sawRead();
        if (status >= 200 && status < 300) onChunk(c);
        else errorBody.push(c);
      });
      stream.on('error', (e) => reject(this.streamFailure(s, req, e)));
      stream.on('close', () => {
        // A dead connection ends the watch with its error, not as if the server had ended it.
        if (s.failure && !cancelled) reject(this.streamFailure(s, req, s.failure));
        else resolve({ status, body: Buffer.concat(errorBody).toString('utf8') });
      });
    }).finally(() => {
      if (--this.inFlight === 0 && !session.destroyed) session.unref();
    });
    return { done, cancel: () => cancel() };
  }

  close(): void {
    this.first?.destroy();
    this.first = undefined;
    this.session?.health.stop();
    this.session?.h2.close();
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

  request(req: ApiRequest, extraHeaders: Record<string, string>, signal: AbortSignal): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...this.conn.headers, ...extraHeaders, accept: 'application/json' };
    if (req.contentType) headers['content-type'] = req.contentType;
    const send = this.agent ? httpsRequest : httpRequest;
    const basePath = this.url.pathname === '/' ? '' : this.url.pathname;
    let onAbort = (): void => undefined;
    return new Promise<ApiResponse>((resolve, reject) => {
      const r = send({ protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, path: basePath + req.path, method: req.method, headers, ...(this.agent ? { agent: this.agent } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: SINGLE_VALUE(res.headers) }));
      });
      r.on('error', reject);
      // Timed out: destroying the request closes its socket (HTTP/1.1 cannot cancel one request on a connection).
      onAbort = () => r.destroy(signal.reason as Error);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      r.end(req.body);
    }).finally(() => signal.removeEventListener('abort', onAbort));
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

  /** One object, shared by reference with the sessions: `configure` applies to connections already open. */
  private readonly bounds: TransportTimeouts = { ...DEFAULT_TRANSPORT_TIMEOUTS };

  constructor(private readonly kc: KubeConfig, private readonly preferred: TransportProtocol = 'auto', private readonly maxSockets = 64, timeouts: Partial<TransportTimeouts> = {}) {
    this.configure(timeouts);
  }

  get timeouts(): Readonly<TransportTimeouts> {
    return this.bounds;
  }

  /** Changes some timeouts (the others keep their values); throws RangeError for a value that is not a positive number. */
  configure(timeouts: Partial<TransportTimeouts>): void {
    Object.assign(this.bounds, resolveTimeouts({ ...this.bounds, ...timeouts }));
  }

  private dynamicCredentials(): boolean {
    const context = this.kc.getCurrentContext();
    if (this.dynamic?.context !== context) this.dynamic = { context, value: hasDynamicCredentials(this.kc) };
    return this.dynamic.value;
  }

  private async pick(conn: Connection): Promise<Http2Transport | Http1Transport> {
    if (this.preferred === 'http/1.1' || conn.origin.startsWith('http:')) return new Http1Transport(conn, this.maxSockets);
    if (this.preferred === 'h2') return new Http2Transport(conn, this.bounds);
    // Offer both; the server's choice (ALPN) decides. The probe's connection becomes the first HTTP/2 session.
    const socket = await tlsConnection(conn, ['h2', 'http/1.1'], Math.min(CONNECT_TIMEOUT_MS, this.timeouts.requestTimeoutMs));
    if (socket.alpnProtocol === 'h2') return new Http2Transport(conn, this.bounds, socket);
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

  /** The API server's address, for messages. */
  private get server(): string {
    return this.conn?.origin ?? this.kc.getCurrentCluster()?.server ?? 'the API server';
  }

  /**
   * One request, answered within `req.deadline` (default: requestTimeoutMs from now), connecting
   * first if needed; past the deadline it is cancelled and fails CLUSTER_UNREACHABLE.
   */
  async request(req: ApiRequest): Promise<ApiResponse> {
    const deadline = req.deadline ?? { at: Date.now() + this.timeouts.requestTimeoutMs, timeoutMs: this.timeouts.requestTimeoutMs };
    const left = deadline.at - Date.now();
    if (left <= 0) throw requestTimedOut(req, this.server, deadline.timeoutMs);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(requestTimedOut(req, this.server, deadline.timeoutMs)), left);
    try {
      const { transport, headers } = await untilAborted(this.current(), timeout.signal);
      for (const observe of observers) observe(req);
      return await transport.request(req, headers, timeout.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a long-running request (a watch); connecting is bounded by requestTimeoutMs, the watch by the connection's health check. */
  async stream(req: ApiRequest, onChunk: (chunk: Buffer) => void): Promise<ApiStream> {
    const timeout = AbortSignal.timeout(this.timeouts.requestTimeoutMs);
    const { transport, headers } = await untilAborted(this.current(), timeout).catch((err: unknown) => {
      throw timeout.aborted ? requestTimedOut(req, this.server, this.timeouts.requestTimeoutMs, 'got no connection') : err;
    });
    for (const observe of observers) observe(req);
    return transport.stream(req, onChunk, headers);
  }

  /** HTTP/2 sessions opened so far (0 over HTTP/1.1): a new session after a dead one shows as +1. */
  get sessionsOpened(): number {
    return this.settled instanceof Http2Transport ? this.settled.sessionsOpened : 0;
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

/** A TLS connection to the server with the context's TLS material, offering `alpn`, handshake done within `timeoutMs`. */
function tlsConnection(conn: Connection, alpn: string[], timeoutMs: number): Promise<TLSSocket> {
  const url = new URL(conn.origin);
  // SNI carries host names only, never IP addresses.
  const servername = conn.tls.servername ?? (isIP(url.hostname.replace(/^\[|\]$/g, '')) ? undefined : url.hostname);
  return new Promise((resolve, reject) => {
    // A frozen server accepts TCP (the kernel does) but never finishes the handshake: give up, so the next request tries again.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClusterUnreachableError(`no TLS connection to ${conn.origin} within ${seconds(timeoutMs)}; check that the API server is up and reachable`));
    }, timeoutMs);
    const socket = tlsConnect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443), ...conn.tls, ...(servername ? { servername } : {}), ALPNProtocols: alpn }, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

/** `promise`, or the abort reason once `signal` aborts (the work behind `promise` goes on; its own bounds end it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  let onAbort = (): void => undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  ]).finally(() => signal.removeEventListener('abort', onAbort));
}

function resolveTimeouts(t: Partial<TransportTimeouts>): TransportTimeouts {
  const out = { ...DEFAULT_TRANSPORT_TIMEOUTS };
  for (const k of Object.keys(out) as (keyof TransportTimeouts)[]) {
    const v = t[k];
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`transport ${k} must be a positive number of ms, got ${v}`);
    out[k] = v;
  }
  return out;
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

/** Sets timeouts of a KubeConfig's shared transport (defaults: DEFAULT_TRANSPORT_TIMEOUTS), for every client made from it. */
export function setTransportTimeouts(kc: KubeConfig, timeouts: Partial<TransportTimeouts>): void {
  transportFor(kc).configure(timeouts);
}

/** ROLLOUT_RELAY_HTTP=http1 forces HTTP/1.1 (for comparison or a proxy that cannot do HTTP/2). */
function transportPreference(): TransportProtocol {
  const v = process.env.ROLLOUT_RELAY_HTTP;
  return v === 'http1' ? 'http/1.1' : v === 'h2' ? 'h2' : 'auto';
}
