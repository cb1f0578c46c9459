/**
 * The floor reference of `npm run bench -- apply`: the least work an all-or-nothing apply can do, by a
 * bare Node HTTP/2 client (one connection, no client library, 64 requests in flight). It server-side
 * dry-runs every object (namespaced ones in `default`, as their namespaces do not exist yet), creates
 * the Namespaces, then applies everything else at once: no order between kinds, no ownership or
 * status reads, no health wait, no verify. What is left is the API server's own time, measured in
 * the same run as kubectl and rollout-relay.
 */
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../src/bundle/index.js';

/** API path segments of the kinds the bench mixes hold. */
const RESOURCES: Record<string, { prefix: string; plural: string }> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces' },
  ConfigMap: { prefix: '/api/v1', plural: 'configmaps' },
  Secret: { prefix: '/api/v1', plural: 'secrets' },
  Service: { prefix: '/api/v1', plural: 'services' },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts' },
  Role: { prefix: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles' },
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments' },
};

const IN_FLIGHT = 64;
const FIELD_MANAGER = 'bare-bench';

function objectPath(o: KubeObject, namespace: string | undefined): string {
  const r = RESOURCES[o.kind];
  if (!r) throw new Error(`bare apply: no path for kind ${o.kind}`);
  return `${r.prefix}${namespace ? `/namespaces/${namespace}` : ''}/${r.plural}/${o.metadata.name}`;
}

function open(kc: KubeConfig): ClientHttp2Session {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user?.certData || !user.keyData || !cluster.caData) throw new Error('bare apply needs a kubeconfig context with client certificate, key and CA data (the sandbox has them)');
  const pem = (b64: string): Buffer => Buffer.from(b64, 'base64');
  return connect(cluster.server, { ca: pem(cluster.caData), cert: pem(user.certData), key: pem(user.keyData) });
}

function patch(session: ClientHttp2Session, path: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'PATCH',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/apply-patch+yaml',
      accept: 'application/json',
    });
    let status = 0;
    const chunks: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[constants.HTTP2_HEADER_STATUS])));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => (status >= 200 && status < 300 ? resolve() : reject(new Error(`PATCH ${path}: HTTP ${status} ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
    req.on('error', reject);
    req.end(body);
  });
}

async function allBounded<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export interface BareApplyTimes {
  /** Wall time of the whole run, connecting included. */
  ms: number;
  dryRunMs: number;
  /** Namespaces, then everything else. */
  applyMs: number;
}

/** Dry run of every object, then Namespaces, then the rest. */
export async function bareApply(kc: KubeConfig, objects: readonly KubeObject[]): Promise<BareApplyTimes> {
  const t = performance.now();
  const session = open(kc);
  try {
    const query = (dry: boolean): string => `?fieldManager=${FIELD_MANAGER}&force=true${dry ? '&dryRun=All' : ''}`;
    const send = (o: KubeObject, dry: boolean): Promise<void> => {
      // A dry run cannot name a namespace that is not created yet: it stands in `default`, as rollout-relay's does.
      const namespace = o.metadata.namespace === undefined ? undefined : dry ? 'default' : o.metadata.namespace;
      const body = namespace === undefined ? o : { ...o, metadata: { ...o.metadata, namespace } };
      return patch(session, objectPath(o, namespace) + query(dry), JSON.stringify(body));
    };
    const dryStart = performance.now();
    await allBounded(objects, (o) => send(o, true));
    const applyStart = performance.now();
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    await allBounded(namespaces, (o) => send(o, false));
    await allBounded(objects.filter((o) => o.kind !== 'Namespace'), (o) => send(o, false));
    const end = performance.now();
    return { ms: end - t, dryRunMs: applyStart - dryStart, applyMs: end - applyStart };
  } finally {
    session.close();
  }
}
