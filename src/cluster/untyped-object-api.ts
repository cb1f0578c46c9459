import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1APIResource,
  type V1APIResourceList,
} from '@kubernetes/client-node';
import { ClusterUnreachableError } from './api-errors.js';
import { transportFor, type KubeTransport } from './api-transport.js';
import { seconds } from './http2-health.js';

/** One line of a watch: ADDED, MODIFIED, DELETED, BOOKMARK (only a resourceVersion) or ERROR (a Status). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubernetesObject & { code?: number; reason?: string; message?: string };
}

function queryString(query: Record<string, string | undefined>): string {
  let qs = '';
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs += `${qs ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(v)}`;
  return qs;
}

type Action = 'create' | 'read' | 'patch' | 'replace' | 'delete' | 'list';
type ObjectHeader = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } };

/**
 * KubernetesObjectApi that sends and returns objects exactly as JSON, untouched.
 *
 * client-node's generic object API runs every body through its generated models: fields the
 * models don't know are silently dropped (for example `x-kubernetes-int-or-string` in a CRD
 * schema, or any field newer than the client), and timestamps come back as Date objects. For a
 * tool whose promise is "DR runs byte-for-byte what was signed" that is unacceptable, so writes,
 * reads, deletes and discovery (kind → resource path, cached per API version) go as raw JSON over
 * the KubeConfig's shared transport (HTTP/2, one connection; see api-transport.ts).
 */
export class UntypedObjectApi extends KubernetesObjectApi {
  private transport!: KubeTransport;
  /** Discovery per API version; concurrent lookups of one version share one request. */
  private readonly discovery = new Map<string, Promise<V1APIResourceList>>();

  /** This client's bound per request (429 retries included); undefined: the transport's requestTimeoutMs. */
  private requestTimeoutMs: number | undefined;

  /**
   * `requestTimeoutMs`: this client's bound per request instead of the transport's (e.g. a lease
   * renewal that must not outlive its renew deadline).
   */
  static forKubeConfig(kc: KubeConfig, opts: { requestTimeoutMs?: number } = {}): UntypedObjectApi {
    const api = kc.makeApiClient(UntypedObjectApi);
    api.transport = transportFor(kc);
    api.requestTimeoutMs = opts.requestTimeoutMs;
    api.setDefaultNamespace(kc);
    return api;
  }

  override async create<T extends KubernetesObject>(spec: T, pretty?: string, dryRun?: string, fieldManager?: string): Promise<T> {
    const { path, body } = await this.target(spec, 'create');
    return (await this.send('POST', path, { pretty, dryRun, fieldManager }, 'application/json', body)) as T;
  }

  override async patch<T extends KubernetesObject>(
    spec: T,
    pretty?: string,
    dryRun?: string,
    fieldManager?: string,
    force?: boolean,
    patchStrategy: PatchStrategy = PatchStrategy.StrategicMergePatch,
  ): Promise<T> {
    const { path, body } = await this.target(spec, 'patch');
    const query = { pretty, dryRun, fieldManager, force: force === undefined ? undefined : String(force) };
    return (await this.send('PATCH', path, query, patchStrategy, body)) as T;
  }

  /** PUT of the whole object (compare-and-swap when it carries metadata.resourceVersion). */
  override async replace<T extends KubernetesObject>(spec: T, pretty?: string, dryRun?: string, fieldManager?: string): Promise<T> {
    const { path, body } = await this.target(spec, 'replace');
    return (await this.send('PUT', path, { pretty, dryRun, fieldManager }, 'application/json', body)) as T;
  }

  override async read<T extends KubernetesObject>(spec: { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string } }): Promise<T> {
    const { path } = await this.target(spec, 'read');
    return (await this.send('GET', path, {})) as T;
  }

  override async delete(
    spec: KubernetesObject,
    pretty?: string,
    dryRun?: string,
    gracePeriodSeconds?: number,
    orphanDependents?: boolean,
    propagationPolicy?: string,
  ): Promise<never> {
    const { path } = await this.target(spec, 'delete');
    const query = {
      pretty, dryRun, propagationPolicy,
      gracePeriodSeconds: gracePeriodSeconds === undefined ? undefined : String(gracePeriodSeconds),
      orphanDependents: orphanDependents === undefined ? undefined : String(orphanDependents),
    };
    return (await this.send('DELETE', path, query)) as never;
  }

  /** Lists one kind, optionally in one namespace, as plain objects. */
  async listRaw(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, fieldSelector?: string): Promise<KubernetesListObject<KubernetesObject>> {
    const { path } = await this.target({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, 'list');
    return (await this.send('GET', path, { labelSelector, fieldSelector })) as KubernetesListObject<KubernetesObject>;
  }

  /** GET of an API path (e.g. a collection with label/field selectors), as plain JSON. */
  async getPath(path: string, query: Record<string, string | undefined> = {}): Promise<unknown> {
    return this.send('GET', path, query);
  }

  /** PATCH of an API path (e.g. a status subresource) with the given patch content type. */
  async patchRaw(path: string, contentType: string, body: unknown): Promise<unknown> {
    return this.send('PATCH', path, {}, contentType, JSON.stringify(body));
  }

  /**
   * Watches one kind (optionally one namespace, a field selector) from `resourceVersion`, calling
   * `onEvent` per event. `done` resolves when the server ends the watch, rejects with an
   * ApiException for an error status (410 Gone: the version is too old, list again) or a transport error.
   */
  async watchRaw(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    opts: { resourceVersion: string; fieldSelector?: string; timeoutSeconds?: number },
    onEvent: (event: WatchEvent) => void,
  ): Promise<{ done: Promise<void>; cancel: () => void }> {
    const { path } = await this.target({ apiVersion, kind, metadata: namespace ? { namespace } : {} }, 'list');
    const qs = queryString({
      watch: '1', resourceVersion: opts.resourceVersion, allowWatchBookmarks: 'true', fieldSelector: opts.fieldSelector,
      timeoutSeconds: opts.timeoutSeconds === undefined ? undefined : String(Math.max(1, Math.ceil(opts.timeoutSeconds))),
    });
    let partial = '';
    let failure: unknown;
    const stream = await this.transport.stream({ method: 'GET', path: path + qs }, (chunk) => {
      if (failure) return;
      partial += chunk.toString('utf8');
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          onEvent(JSON.parse(line) as WatchEvent);
        } catch (err) {
          failure = err;
          stream.cancel();
          return;
        }
      }
    });
    const done = stream.done.then((end) => {
      if (failure) throw failure;
      if (end.status < 200 || end.status >= 300) {
        throw new ApiException(end.status, `HTTP-Code: ${end.status}\nMessage: Unsuccessful HTTP Request\nBody: ${end.body}`, end.body, {});
      }
    });
    return { done, cancel: () => stream.cancel() };
  }

  /**
   * Discovery as client-node does it (same results, same errors), over our transport: the API
   * version's resource list, refetched once when a kind is missing (a CRD established since).
   */
  override async resource(apiVersion: string, kind: string): Promise<V1APIResource | undefined> {
    // rollout-relay's own state (status ConfigMap, last-good Secrets, namespace checks) needs no discovery:
    // these core kinds are served the same way by every Kubernetes version.
    if (apiVersion === 'v1') {
      const core = CORE_V1[kind];
      if (core) return core;
    }
    const find = (l: V1APIResourceList): V1APIResource | undefined => l.resources.find((r) => r.kind === kind);
    const cached = this.discovery.get(apiVersion);
    if (cached) {
      const hit = find(await cached.catch(() => ({ resources: [] }) as unknown as V1APIResourceList));
      if (hit) return hit;
      if (this.discovery.get(apiVersion) !== cached) return this.resource(apiVersion, kind); // refreshed meanwhile
    }
    const fresh = this.send('GET', this.apiVersionPath(apiVersion), {}).then((l) => l as V1APIResourceList).catch((e: unknown) => {
      if (e instanceof Error) e.message = `Failed to fetch resource metadata for ${apiVersion}/${kind}: ${e.message}`;
      throw e;
    });
    this.discovery.set(apiVersion, fresh);
    fresh.catch(() => {
      if (this.discovery.get(apiVersion) === fresh) this.discovery.delete(apiVersion);
    });
    return find(await fresh);
  }

  /**
   * The request path for an object and its JSON body, as client-node's specUriPath builds them
   * (namespaced kinds without a namespace go to the context's default namespace, which the body
   * then names too), without copying the caller's object.
   */
  private async target(spec: ObjectHeader, action: Action): Promise<{ path: string; body: string }> {
    if (!spec.kind) throw new Error('Required spec property kind is not set');
    const apiVersion = spec.apiVersion || 'v1';
    const resource = await this.resource(apiVersion, spec.kind);
    if (!resource) throw new Error(`Unrecognized API version and kind: ${apiVersion} ${spec.kind}`);
    const meta = spec.metadata ?? {};
    let namespace = meta.namespace;
    let body: ObjectHeader = spec;
    if (resource.namespaced && !namespace && action !== 'list') {
      namespace = this.defaultNamespace;
      body = { ...spec, apiVersion, metadata: { ...meta, namespace } };
    } else if (spec.apiVersion !== apiVersion || !spec.metadata) {
      body = { ...spec, apiVersion, metadata: meta };
    }
    let path = `${this.apiVersionPath(apiVersion)}`;
    if (resource.namespaced && namespace) path += `/namespaces/${encodeURIComponent(String(namespace))}`;
    path += `/${resource.name}`;
    if (action !== 'create' && action !== 'list') {
      if (!meta.name) throw new Error('Required spec property name is not set');
      path += `/${encodeURIComponent(String(meta.name))}`;
    }
    return { path: path.toLowerCase(), body: action === 'create' || action === 'patch' || action === 'replace' ? JSON.stringify(body) : '' };
  }

  private async send(method: string, path: string, query: Record<string, string | undefined>, contentType?: string, body?: string): Promise<unknown> {
    // One deadline for the call, 429 retries included (as client-go's request timeout).
    const timeoutMs = this.requestTimeoutMs ?? this.transport.timeouts.requestTimeoutMs;
    const deadline = { at: Date.now() + timeoutMs, timeoutMs };
    const req = { method, path: path + queryString(query), ...(contentType ? { contentType } : {}), ...(body !== undefined ? { body } : {}), deadline };
    let res = await this.transport.request(req);
    // 429: API Priority and Fairness (or max-in-flight) refused the request before processing it,
    // as happens to many requests in flight right after an API server restart. Like client-go,
    // wait for Retry-After and send it again, a bounded number of times.
    for (let attempt = 1; res.status === 429 && attempt < MAX_THROTTLE_ATTEMPTS; attempt++) {
      const wait = retryAfterMs(res.headers, attempt);
      if (Date.now() + wait >= deadline.at) {
        throw new ClusterUnreachableError(`${method} ${path} was refused with 429 (too many requests) ${attempt} times and waiting to retry would pass the ${seconds(timeoutMs)} request timeout; the API server is overloaded: retry later`);
      }
      await new Promise((r) => setTimeout(r, wait));
      res = await this.transport.request(req);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new ApiException(res.status, `HTTP-Code: ${res.status}\nMessage: Unsuccessful HTTP Request\nBody: ${res.body}`, res.body, res.headers);
    }
    return res.body ? JSON.parse(res.body) : {};
  }
}

/** Core v1 kinds that exist, with these names and scopes, in every Kubernetes version. */
const CORE_V1: Record<string, V1APIResource> = {
  ConfigMap: { name: 'configmaps', kind: 'ConfigMap', namespaced: true, singularName: 'configmap', verbs: [] },
  Secret: { name: 'secrets', kind: 'Secret', namespaced: true, singularName: 'secret', verbs: [] },
  Namespace: { name: 'namespaces', kind: 'Namespace', namespaced: false, singularName: 'namespace', verbs: [] },
};

/** How often a request refused with 429 is sent in all (client-go also stops at 10). */
const MAX_THROTTLE_ATTEMPTS = 10;

/** Retry-After in ms (seconds form), 1 s when absent, capped at 10 s, with jitter so refused requests spread out. */
export function retryAfterMs(headers: Record<string, string> | undefined, attempt: number): number {
  const raw = headers?.['retry-after'];
  const seconds = raw !== undefined && /^\d{1,4}$/.test(raw.trim()) ? Number(raw.trim()) : 1;
  return Math.min(10_000, Math.max(100, seconds * 1000)) * (0.75 + Math.random() * 0.5) + Math.min(attempt, 5) * 10;
}
