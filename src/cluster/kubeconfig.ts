import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import { apiStatusCode, wrapTransport } from './api-errors.js';
import { requestTimedOut, setTransportTimeouts, transportFor } from './api-transport.js';
import { parseArgoCdClusterSecret, type ArgoCdCluster } from './argocd-secret.js';

/** A target cluster: a KubeConfig whose current context points at it, and its name for policy checks. */
export interface ClusterTarget {
  name: string;
  kubeConfig: KubeConfig;
}

export interface KubeconfigOptions {
  /** Kubeconfig file. Default: $KUBECONFIG or ~/.kube/config (the client's own default). */
  kubeconfig?: string;
  /** Context to use. Default: the file's current-context. */
  context?: string;
  /** Bound of each API request on every client made from it. Default: the transport's (60 s). */
  requestTimeoutMs?: number;
}

/** Loads a kubeconfig and selects a context; CONFIG_INVALID lists the contexts when it is missing. */
export function loadKubeConfig(opts: KubeconfigOptions): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new RelayError('CONFIG_INVALID', `cannot load kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new RelayError('CONFIG_INVALID', `context "${opts.context}" is not in the kubeconfig; it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) throw new RelayError('CONFIG_INVALID', `the kubeconfig has no usable current context; pass --context`);
  if (opts.requestTimeoutMs !== undefined) setTransportTimeouts(kc, { requestTimeoutMs: opts.requestTimeoutMs });
  return enableKeepAlive(kc);
}

/** The target from a kubeconfig context; its name is the context's cluster name unless given. */
export function kubeconfigTarget(opts: KubeconfigOptions & { name?: string }): ClusterTarget {
  const kc = loadKubeConfig(opts);
  return { name: opts.name ?? kc.getCurrentCluster()!.name, kubeConfig: kc };
}

/** A KubeConfig for an Argo CD cluster. TLS verification stays on unless the Secret sets insecure: true. */
export function kubeConfigFromArgoCd(cluster: ArgoCdCluster): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{
      name: cluster.name,
      server: cluster.server,
      skipTLSVerify: cluster.tls.insecure,
      ...(cluster.tls.caData ? { caData: cluster.tls.caData } : {}),
      ...(cluster.tls.serverName ? { tlsServerName: cluster.tls.serverName } : {}),
    }],
    users: [{
      name: cluster.name,
      ...(cluster.bearerToken ? { token: cluster.bearerToken } : {}),
      ...(cluster.tls.certData ? { certData: cluster.tls.certData } : {}),
      ...(cluster.tls.keyData ? { keyData: cluster.tls.keyData } : {}),
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
    }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: cluster.name }],
    currentContext: cluster.name,
  });
  return enableKeepAlive(kc);
}

/** Parses `NAMESPACE/NAME`. */
export function parseSecretRef(ref: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(ref);
  if (!m) throw new RelayError('USAGE', `--cluster-secret "${ref}" must be NAMESPACE/NAME`);
  return { namespace: m[1]!, name: m[3]! };
}

/**
 * Reads an Argo CD cluster Secret through `from` (e.g. the primary's context) and returns the target.
 * The target's requests get `from`'s request timeout: the bound configured for the clients of one
 * config (or one command) holds for a cluster found through its Secret too.
 */
export async function argoCdSecretTarget(from: KubeConfig, ref: string): Promise<ClusterTarget> {
  const { namespace, name } = parseSecretRef(ref);
  let secret;
  try {
    secret = await from.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (apiStatusCode(err) === 404) throw new RelayError('CONFIG_INVALID', `Argo CD cluster Secret ${namespace}/${name} not found in context ${from.getCurrentContext()}`);
    if (apiStatusCode(err) === 403) throw new RelayError('CONFIG_INVALID', `not allowed to read Secret ${namespace}/${name} in context ${from.getCurrentContext()}; grant get on that Secret`);
    throw wrapTransport(err, `reading Secret ${namespace}/${name}`);
  }
  const cluster = parseArgoCdClusterSecret(secret);
  const kc = kubeConfigFromArgoCd(cluster);
  setTransportTimeouts(kc, { requestTimeoutMs: transportFor(from).timeouts.requestTimeoutMs });
  return { name: cluster.name, kubeConfig: kc };
}

/**
 * Makes the client library reuse connections. client-node's generated APIs (CoreV1Api, used for the
 * status ConfigMap and the rollback copy) build a new connection pool (undici dispatcher) for every
 * request, so every request pays a TLS handshake on both sides; its websocket/watch path creates
 * agents without keep-alive. This keeps one keep-alive dispatcher per TLS identity (server, CA,
 * client certificate, key, SNI, verification setting: a rotated certificate gets a new one) and
 * makes agents keep-alive. Idempotent; TLS settings, verification included, are unchanged.
 * (UntypedObjectApi does not go through these: it has its own HTTP/2 transport.)
 */
export function enableKeepAlive(kc: KubeConfig, maxSockets = 32): KubeConfig {
  type Cluster = { server?: string; proxyUrl?: string } | null;
  const k = kc as unknown as {
    createAgent?: (cluster: unknown, opts: Record<string, unknown>) => unknown;
    createDispatcher?: (cluster: Cluster, opts: Record<string, unknown>) => unknown;
    __rrKeepAlive?: boolean;
  };
  if (k.__rrKeepAlive) return kc;
  if (typeof k.createAgent === 'function') {
    const original = k.createAgent.bind(kc);
    k.createAgent = (cluster, opts) => original(cluster, { ...opts, keepAlive: true, maxSockets });
  }
  if (typeof k.createDispatcher === 'function') {
    const original = k.createDispatcher.bind(kc);
    let cached: { identity: unknown[]; dispatcher: unknown } | undefined;
    k.createDispatcher = (cluster, opts) => {
      const identity = [cluster?.server, cluster?.proxyUrl, opts.ca, opts.cert, opts.key, opts.pfx, opts.passphrase, opts.rejectUnauthorized, opts.servername];
      if (cached && sameIdentity(cached.identity, identity)) return cached.dispatcher;
      cached = { identity, dispatcher: original(cluster, opts) };
      return cached.dispatcher;
    };
  }
  k.__rrKeepAlive = true;
  return boundClientRequests(kc);
}

/** What boundClientRequests needs of client-node's RequestContext. */
interface RequestContextLike {
  getUrl(): string;
  getHttpMethod(): string;
  getSignal(): AbortSignal | undefined;
  setSignal(signal: AbortSignal): void;
}

/**
 * Bounds every request of client-node's generated APIs (CoreV1Api ...) made from this KubeConfig by
 * the same request timeout as our own transport (transportFor(kc).timeouts, default 60 s): past it
 * the request is aborted and fails CLUSTER_UNREACHABLE naming method and path. Without this,
 * undici waits up to 5 minutes for response headers. client-node's Watch keeps its own inactivity
 * timeout (it does not use this signal). Idempotent; called by enableKeepAlive.
 */
export function boundClientRequests(kc: KubeConfig): KubeConfig {
  const k = kc as unknown as { applySecurityAuthentication?: (ctx: RequestContextLike) => Promise<void>; __rrBounded?: boolean };
  if (k.__rrBounded || typeof k.applySecurityAuthentication !== 'function') return kc;
  const original = k.applySecurityAuthentication.bind(kc);
  k.applySecurityAuthentication = async (ctx) => {
    await original(ctx);
    if (ctx.getSignal()) return; // the caller bounds it already
    const ms = transportFor(kc).timeouts.requestTimeoutMs;
    const url = new URL(ctx.getUrl());
    const timeout = new AbortController();
    // unref: a finished request's timer must not keep the process alive; aborting a finished request does nothing.
    setTimeout(() => timeout.abort(requestTimedOut({ method: ctx.getHttpMethod(), path: url.pathname }, url.origin, ms)), ms).unref();
    ctx.setSignal(timeout.signal);
  };
  k.__rrBounded = true;
  return kc;
}

function sameIdentity(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  });
}
