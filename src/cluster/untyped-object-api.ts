import { Agent, request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';

/**
 * KubernetesObjectApi that sends and returns objects exactly as JSON, untouched.
 *
 * client-node's generic object API runs every body through its generated models: fields the
 * models don't know are silently dropped (for example `x-kubernetes-int-or-string` in a CRD
 * schema, or any field newer than the client), and timestamps come back as Date objects. For a
 * tool whose promise is "DR runs byte-for-byte what was signed" that is unacceptable, so writes
 * and reads go over the same authenticated connection as raw JSON instead. Discovery (kind →
 * resource path) still comes from client-node, cached per API version.
 */
export class UntypedObjectApi extends KubernetesObjectApi {
  private kubeConfig!: KubeConfig;
  private agent: Agent | undefined;
  private staticOptions: RequestOptions | undefined;

  static forKubeConfig(kc: KubeConfig): UntypedObjectApi {
    const api = kc.makeApiClient(UntypedObjectApi);
    api.kubeConfig = kc;
    api.setDefaultNamespace(kc);
    return api;
  }

  override async create<T extends KubernetesObject>(spec: T, pretty?: string, dryRun?: string, fieldManager?: string): Promise<T> {
    const body = structuredClone(spec);
    const path = await this.specUriPath(body, 'create');
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
    const body = structuredClone(spec);
    const path = await this.specUriPath(body, 'patch');
    const query = { pretty, dryRun, fieldManager, force: force === undefined ? undefined : String(force) };
    return (await this.send('PATCH', path, query, patchStrategy, body)) as T;
  }

  override async read<T extends KubernetesObject>(spec: { apiVersion?: string; kind?: string; metadata: { name: string; namespace?: string } }): Promise<T> {
    const header = structuredClone(spec) as KubernetesObject;
    const path = await this.specUriPath(header, 'read');
    return (await this.send('GET', path, {})) as T;
  }

  /** Lists one kind, optionally in one namespace, as plain objects. */
  async listRaw(apiVersion: string, kind: string, namespace?: string, labelSelector?: string): Promise<KubernetesListObject<KubernetesObject>> {
    const header: KubernetesObject = { apiVersion, kind, metadata: namespace ? { namespace } : {} };
    const path = await this.specUriPath(header, 'list');
    return (await this.send('GET', path, { labelSelector })) as KubernetesListObject<KubernetesObject>;
  }

  /** GET of an API path (e.g. a collection with label/field selectors), as plain JSON. */
  async getPath(path: string, query: Record<string, string | undefined> = {}): Promise<unknown> {
    return this.send('GET', path, query);
  }

  /** PATCH of an API path (e.g. a status subresource) with the given patch content type. */
  async patchRaw(path: string, contentType: string, body: unknown): Promise<unknown> {
    return this.send('PATCH', path, {}, contentType, body);
  }

  /**
   * TLS material and credentials from the kubeconfig. Decoding them costs CPU on every request, so
   * static ones (certificates, a fixed token) are resolved once; credentials that can change while
   * we run (exec plugins, auth providers) are resolved per request.
   */
  private async connectionOptions(): Promise<RequestOptions> {
    if (this.staticOptions) return this.staticOptions;
    const opts: RequestOptions = { headers: {} };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const user = this.kubeConfig.getCurrentUser();
    if (!user?.exec && !user?.authProvider) this.staticOptions = opts;
    return opts;
  }

  private async send(method: string, path: string, query: Record<string, string | undefined>, contentType?: string, body?: unknown): Promise<unknown> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const base = await this.connectionOptions();
    const opts: RequestOptions = { ...base, method, headers: { ...(base.headers as Record<string, string>), Accept: 'application/json', ...(contentType ? { 'Content-Type': contentType } : {}) } };
    delete opts.agent;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    // One keep-alive agent per client with the same TLS material: warm connections, parallel waves.
    this.agent ??= new Agent({ keepAlive: true, maxSockets: 64, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername });
    const send = url.protocol === 'http:' ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, url.protocol === 'http:' ? { method, headers: opts.headers } : { ...opts, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new ApiException(status, `HTTP-Code: ${status}\nMessage: Unsuccessful HTTP Request\nBody: ${text}`, text, res.headers as Record<string, string>));
            return;
          }
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('error', reject);
      if (payload !== undefined) req.end(payload);
      else req.end();
    });
  }
}
