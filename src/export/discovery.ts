import type { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';

/** One listable resource of the API, in its group's preferred version. */
export interface ApiResource {
  group: string;
  apiVersion: string;
  kind: string;
  /** Plural resource name (the URL segment). */
  plural: string;
  namespaced: boolean;
}

interface ResourceList {
  resources?: { name?: string; kind?: string; namespaced?: boolean; verbs?: string[] }[];
}

interface GroupList {
  groups?: { name?: string; preferredVersion?: { groupVersion?: string } }[];
}

/** Resource path prefix of an apiVersion: `/api/v1` or `/apis/<group>/<version>`. */
export function apiPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * Which kinds the cluster serves (design §9: kinds come from API discovery, cached). One request for
 * the core group, one for the group list and one per group (in parallel); kept for `ttlMs` so a
 * promotion normally costs no discovery at all. Groups whose discovery fails (an aggregated API
 * that is down) are reported and skipped instead of failing every export.
 */
export class DiscoveryCache {
  private cached: { at: number; resources: ApiResource[]; unavailable: string[] } | undefined;
  private inflight: Promise<{ resources: ApiResource[]; unavailable: string[] }> | undefined;

  constructor(private readonly api: UntypedObjectApi, private readonly ttlMs = 5 * 60_000, private readonly now: () => number = Date.now) {}

  /** Listable resources (verbs include `list`, no subresources), preferred version per group. */
  async resources(): Promise<{ resources: ApiResource[]; unavailable: string[] }> {
    if (this.cached && this.now() - this.cached.at < this.ttlMs) return this.cached;
    this.inflight ??= this.load().then((r) => {
      this.cached = { at: this.now(), ...r };
      return r;
    }).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forget the cache (after an unknown-kind error, say). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async get<T>(path: string): Promise<T> {
    try {
      return (await this.api.getPath(path)) as T;
    } catch (err) {
      throw wrapTransport(err, `API discovery ${path}`);
    }
  }

  private async load(): Promise<{ resources: ApiResource[]; unavailable: string[] }> {
    const [core, groups] = await Promise.all([this.get<ResourceList>('/api/v1'), this.get<GroupList>('/apis')]);
    const versions = (groups.groups ?? []).map((g) => g.preferredVersion?.groupVersion).filter((v): v is string => !!v);
    const unavailable: string[] = [];
    const lists = await Promise.all(versions.map(async (gv) => {
      try {
        return { gv, list: await this.get<ResourceList>(`/apis/${gv}`) };
      } catch (err) {
        // An aggregated API that is unavailable (503) or gone (404) must not stop every export.
        if (apiStatusCode(err) !== undefined) {
          unavailable.push(gv);
          return { gv, list: {} as ResourceList };
        }
        throw err;
      }
    }));
    const out: ApiResource[] = [];
    const add = (apiVersion: string, list: ResourceList) => {
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
      for (const r of list.resources ?? []) {
        if (!r.name || !r.kind || r.name.includes('/') || !(r.verbs ?? []).includes('list')) continue;
        out.push({ group, apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced === true });
      }
    };
    add('v1', core);
    for (const { gv, list } of lists) add(gv, list);
    return { resources: out, unavailable };
  }
}
