import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { GoneError, type ListerWatcher, type ListResult, type WatchEventType } from './reflector.js';

/** One collection on an API server: e.g. Rollouts (argoproj.io/v1alpha1) in namespace shop, or in all namespaces. */
export interface CollectionSpec {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Resource plural (rollouts, deployments, events, configmaps, replicasets). */
  resource: string;
  /** The kind stamped on list items (list items carry no kind of their own). */
  kind: string;
  /** undefined = all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export function collectionPath(c: Pick<CollectionSpec, 'group' | 'version' | 'resource' | 'namespace'>, name?: string): string {
  const base = c.group === '' ? `/api/${c.version}` : `/apis/${c.group}/${c.version}`;
  const ns = c.namespace ? `/namespaces/${encodeURIComponent(c.namespace)}` : '';
  return `${base}${ns}/${c.resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function apiVersionOf(c: Pick<CollectionSpec, 'group' | 'version'>): string {
  return c.group === '' ? c.version : `${c.group}/${c.version}`;
}

interface RawList<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** Page size of a list: keeps each response small on big clusters. */
const PAGE = 500;

/**
 * A ListerWatcher over the real API: paged lists as raw JSON (no fields lost to client models) and
 * watches through client-node's `Watch` with bookmarks, so an idle collection still advances its
 * resourceVersion. A server-side ERROR event ends the watch with its code (410 → relist).
 */
export function kubeListerWatcher<T extends { apiVersion?: string; kind?: string }>(kc: KubeConfig, spec: CollectionSpec, description: string): ListerWatcher<T> {
  const api = UntypedObjectApi.forKubeConfig(kc);
  const path = collectionPath(spec);
  const apiVersion = apiVersionOf(spec);
  const stamp = (o: T): T => {
    o.apiVersion ??= apiVersion;
    o.kind ??= spec.kind;
    return o;
  };
  const selectors = { labelSelector: spec.labelSelector, fieldSelector: spec.fieldSelector };
  return {
    description,
    async list(): Promise<ListResult<T>> {
      const items: T[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page = (await api.getPath(path, { ...selectors, limit: String(PAGE), continue: cont })) as RawList<T>;
        items.push(...(page.items ?? []).map(stamp));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?.continue || undefined;
      } while (cont);
      return { items, resourceVersion };
    },
    watch(resourceVersion, onEvent, signal): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        let request: AbortController | undefined;
        let finished = false;
        const finish = (err?: unknown): void => {
          if (finished) return;
          finished = true;
          signal.removeEventListener('abort', onAbort);
          request?.abort();
          if (err) reject(err);
          else resolve();
        };
        const onAbort = (): void => finish();
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', onAbort);
        const query = {
          ...selectors,
          resourceVersion,
          allowWatchBookmarks: true,
          // The server ends each watch after a few minutes (jittered so watches don't reconnect together).
          timeoutSeconds: 240 + Math.floor(Math.random() * 120),
        };
        new Watch(kc)
          .watch(
            path,
            query,
            (type: string, obj: T) => {
              if (finished) return;
              try {
                if (type === 'ERROR') {
                  const status = obj as unknown as { code?: number; message?: string };
                  throw status.code === 410 ? new GoneError(status.message) : Object.assign(new Error(`watch ${description}: ${status.message ?? 'error event'}`), { statusCode: status.code });
                }
                onEvent(type as WatchEventType, stamp(obj));
              } catch (err) {
                finish(err);
              }
            },
            (err: unknown) => {
              // The client's inactivity timeout is a normal end: resume from the last version.
              if (err && (err as { name?: string }).name !== 'TimeoutError') finish(err);
              else finish();
            },
          )
          .then((c) => {
            request = c;
            if (finished) c.abort();
          }, finish);
      });
    },
  };
}
