import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayError, type RelayErrorCode } from '../errors.js';
import { checkBearer } from '../server/auth.js';
import type { ReadResult } from './answer-guard.js';
import type { AnswerDecider } from './shared-guard.js';
import { pluginRequestFromJSON, type PluginFilter, type PluginParameter } from './params.js';

/** The path Argo CD's plugin generator POSTs to (`<baseUrl>/api/v1/getparams.execute`). */
export const PLUGIN_PATH = '/api/v1/getparams.execute';

/** The subset of a pino logger the handler uses. */
export interface PluginLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface PluginHandlerOptions {
  /** The bearer token Argo CD must present (its own token, not the notify or status one). */
  token: string;
  /** Reads every DR target's status for the filter; throws when any target cannot be read. */
  read: (filter: PluginFilter, signal: AbortSignal) => Promise<PluginParameter[]>;
  /** An AnswerGuard, or a SharedAnswerGuard that keeps its memory in a ConfigMap. */
  guard: AnswerDecider;
  /** Largest request body accepted. Default: 65536 bytes. */
  maxBodyBytes?: number;
  /** A read slower than this counts as a failed read (cache or 503). Default: 20000 ms (Argo CD waits 30 s). */
  readTimeoutMs?: number;
  log?: PluginLog;
}

const STATUS_FOR: Partial<Record<RelayErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  TOO_LARGE: 413,
  MALFORMED: 400,
  USAGE: 405,
  PLUGIN_UNAVAILABLE: 503,
  DROP_BUDGET_EXCEEDED: 503,
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: RelayError): void {
  const status = STATUS_FOR[err.code] ?? 500;
  const headers: Record<string, string> = status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  if (status === 405) headers.allow = 'POST';
  // Never an empty 200: every failure is an error status with a code and a message.
  send(res, status, { error: { code: err.code, message: err.message } }, headers);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw new RelayError('TOO_LARGE', `request body of ${declared} bytes is over the ${limit}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RelayError('TOO_LARGE', `request body is over the ${limit}-byte limit`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readWithTimeout(read: PluginHandlerOptions['read'], filter: PluginFilter, timeoutMs: number): Promise<ReadResult> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new RelayError('CLUSTER_UNREACHABLE', `reading the DR targets took longer than ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return { ok: true, parameters: await Promise.race([read(filter, ac.signal), timeout]) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The ApplicationSet plugin generator endpoint as a plain node:http handler, so the controller's
 * server and the standalone `appset-plugin` command mount the same code. It answers only
 * `POST /api/v1/getparams.execute`; the caller routes that path here.
 */
export function createPluginHandler(options: PluginHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  if (!options.token) throw new RelayError('CONFIG_INVALID', 'the plugin token is empty; put a random token in plugin.tokenFile');
  const maxBodyBytes = options.maxBodyBytes ?? 65_536;
  const readTimeoutMs = options.readTimeoutMs ?? 20_000;
  const log = options.log;

  return async (req, res) => {
    const started = Date.now();
    try {
      if (req.method !== 'POST') throw new RelayError('USAGE', `${req.method} is not allowed on ${PLUGIN_PATH}; Argo CD sends POST`);
      // Constant time (both sides hashed first), shared with the controller's other endpoints.
      const check = checkBearer(req.headers.authorization, options.token);
      if (check === 'missing') throw new RelayError('UNAUTHENTICATED', 'missing bearer token; set token in the plugin ConfigMap to the plugin token');
      if (check === 'wrong') throw new RelayError('FORBIDDEN', 'wrong bearer token for the plugin endpoint (it has its own token, not the notify or status one)');

      const body = await readBody(req, maxBodyBytes);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new RelayError('MALFORMED', 'the request body is not JSON', { cause: err });
      }
      const request = pluginRequestFromJSON(json);
      const key = JSON.stringify([request.applicationSetName, request.filter.namespace ?? '', request.filter.application ?? '']);
      const answer = await options.guard.decide(key, await readWithTimeout(options.read, request.filter, readTimeoutMs));
      if (answer.servedFromCacheBecause) {
        log?.warn({ applicationSet: request.applicationSetName, cacheAgeSeconds: answer.cacheAgeSeconds, reason: answer.servedFromCacheBecause }, 'plugin answered from cache');
      }
      log?.info({ applicationSet: request.applicationSetName, entries: answer.parameters.length, cacheAgeSeconds: answer.cacheAgeSeconds, ms: Date.now() - started }, 'plugin answered');
      send(res, 200, { output: { parameters: answer.parameters } }, { 'x-rollout-relay-cache-age': String(answer.cacheAgeSeconds) });
    } catch (err) {
      const relay = err instanceof RelayError ? err : new RelayError('PLUGIN_UNAVAILABLE', `internal error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      log?.warn({ code: relay.code, reason: relay.message }, 'plugin refused');
      if (relay.code === 'TOO_LARGE') {
        // Do not read the rest of an over-long body: answer, then close the connection.
        res.setHeader('connection', 'close');
        res.on('finish', () => req.destroy());
      }
      if (!res.headersSent) sendError(res, relay);
    }
  };
}
