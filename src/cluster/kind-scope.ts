import type { KubeConfig } from '@kubernetes/client-node';
import { apiStatusCode, wrapTransport } from './api-errors.js';
import { UntypedObjectApi } from './untyped-object-api.js';

/**
 * Whether the target cluster serves a kind as namespaced or cluster-scoped, from its API discovery
 * (cached per API version). The scope check uses it for kinds a bundle neither defines nor are built in:
 * apply writes an object by what discovery says, so the scope must judge it the same way.
 * Discovery goes over the KubeConfig's shared HTTP/2 connection (UntypedObjectApi), as the apply's does.
 */
export class KindScopeLookup {
  private constructor(private readonly api: UntypedObjectApi) {}

  static forKubeConfig(kc: KubeConfig): KindScopeLookup {
    return new KindScopeLookup(UntypedObjectApi.forKubeConfig(kc));
  }

  /** 'Namespaced', 'Cluster', or undefined when the cluster does not serve the kind. */
  async scopeOf(apiVersion: string, kind: string): Promise<'Namespaced' | 'Cluster' | undefined> {
    try {
      const r = await this.api.resource(apiVersion, kind);
      return r === undefined ? undefined : r.namespaced ? 'Namespaced' : 'Cluster';
    } catch (err) {
      if (apiStatusCode(err) === 404) return undefined;
      throw wrapTransport(err, `discovering ${apiVersion} ${kind}`);
    }
  }
}
