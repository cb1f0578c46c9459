import { RelayError } from '../errors.js';

/** The HTTP status of a Kubernetes API error, or undefined for a transport error. */
export function apiStatusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

function statusBody(err: unknown): StatusBody | undefined {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body };
    }
  }
  return typeof body === 'object' && body !== null ? (body as StatusBody) : undefined;
}

/** The API server's own message for a failed request (never the request, which may hold Secret data). */
export function apiMessage(err: unknown): string {
  const body = statusBody(err);
  if (body?.message) return body.message;
  const code = apiStatusCode(err);
  if (code !== undefined) return `HTTP ${code}`;
  const e = err as { message?: unknown; cause?: { code?: unknown } } | null;
  const sys = typeof e?.cause?.code === 'string' ? ` (${e.cause.code})` : '';
  return `${typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err)}${sys}`;
}

export function apiReason(err: unknown): string | undefined {
  return statusBody(err)?.reason;
}

/** The `details.causes` of a Status: for an SSA conflict, one per conflicting field. */
export function apiCauses(err: unknown): { field?: string; message?: string; reason?: string }[] {
  return statusBody(err)?.details?.causes ?? [];
}

/** True for errors that never reached an API server (DNS, TCP, TLS). */
export function isTransportError(err: unknown): boolean {
  return apiStatusCode(err) === undefined;
}

/**
 * A request that got no answer: its connection failed its health check or closed under it, or it
 * timed out (the transport cancelled it). Coded CLUSTER_UNREACHABLE, so callers that retry an
 * unreachable cluster with back-off treat it the same way; the message names the request.
 */
export class ClusterUnreachableError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLUSTER_UNREACHABLE', message, options);
    this.name = 'ClusterUnreachableError';
  }
}

/**
 * Wraps a transport error once, at the boundary, as CLUSTER_UNREACHABLE (the transport's own coded
 * errors get `what` in front); passes others through.
 */
export function wrapTransport(err: unknown, what: string): unknown {
  if (err instanceof ClusterUnreachableError) return new RelayError('CLUSTER_UNREACHABLE', `${what}: ${err.message}`, { cause: err });
  if (err instanceof RelayError || !isTransportError(err)) return err;
  return new RelayError('CLUSTER_UNREACHABLE', `${what}: ${apiMessage(err)}; check the server address, network and TLS settings of the context`, { cause: err });
}
