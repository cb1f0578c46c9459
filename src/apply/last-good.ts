import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { APPLICATION_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, parseApplication } from '../status/model.js';

/**
 * The last bundle that completed on a target, kept in the DR cluster by digest so a failed apply can
 * roll back without the primary. The bundle bytes are gzip-compressed and split over Secrets (not
 * ConfigMaps: bundles may carry Secrets) of at most CHUNK_BYTES each.
 *
 * Limits: MAX_CHUNKS × CHUNK_BYTES = 48 MiB compressed (manifests compress ~10×, so several hundred MiB of
 * YAML). Every chunk is one object under etcd's 1.5 MiB request limit. A larger bundle is refused
 * (TOO_LARGE) before anything is written.
 */
export const CHUNK_BYTES = 768 * 1024;
export const MAX_CHUNKS = 64;
export const BUNDLE_SECRET_TYPE = 'rollout-relay.io/bundle';
const DIGEST_LABEL = 'rollout-relay.io/bundle-digest';
const APP_LABEL = 'rollout-relay.io/application-name';
const CHUNK_ANNOTATION = 'rollout-relay.io/chunk';

export function compressBundle(bytes: Buffer): Buffer[] {
  const gz = gzipSync(bytes, { level: 6 });
  const chunks: Buffer[] = [];
  for (let off = 0; off < gz.length; off += CHUNK_BYTES) chunks.push(gz.subarray(off, off + CHUNK_BYTES));
  if (chunks.length === 0) chunks.push(Buffer.alloc(0));
  if (chunks.length > MAX_CHUNKS) {
    throw new RelayError('TOO_LARGE', `bundle compresses to ${gz.length} bytes, above the ${MAX_CHUNKS * CHUNK_BYTES} bytes kept for rollback in the DR cluster; split the application`);
  }
  return chunks;
}

export class LastGoodStore {
  /** Raw JSON over the shared HTTP/2 connection (no model (de)serialisation of the base64 chunks). */
  private readonly api: UntypedObjectApi;
  private readonly namespace: string;
  private readonly appName: string;

  constructor(kc: KubeConfig, readonly application: string) {
    const app = parseApplication(application);
    this.namespace = app.namespace;
    this.appName = app.name;
    this.api = UntypedObjectApi.forKubeConfig(kc);
  }

  private secretName(hex: string, i: number): string {
    return `rollout-relay-bundle-${this.appName}-${hex.slice(0, 16)}-${i}`.slice(0, 253);
  }

  /**
   * Stores the bundle (idempotent: an existing identical chunk is left alone) and deletes other digests.
   * `chunks` is `compressBundle(bytes)`, passed when the caller already compressed it (for the size check).
   */
  async save(hex: string, bytes: Buffer, chunks: Buffer[] = compressBundle(bytes)): Promise<void> {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hex) throw new RelayError('DIGEST_MISMATCH', `bundle bytes changed after verification (want sha256:${hex}, got sha256:${actual}); nothing kept for rollback`);
    for (const [i, chunk] of chunks.entries()) {
      const body: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: BUNDLE_SECRET_TYPE,
        metadata: {
          name: this.secretName(hex, i),
          namespace: this.namespace,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [DIGEST_LABEL]: hex.slice(0, 63), [APP_LABEL]: this.appName.slice(0, 63) },
          annotations: { [APPLICATION_ANNOTATION]: this.application, [CHUNK_ANNOTATION]: `${i}/${chunks.length}` },
        },
        data: { 'bundle.tar.gz': chunk.toString('base64') },
      };
      try {
        await this.api.create(body);
      } catch (err) {
        if (apiStatusCode(err) !== 409) throw wrapTransport(err, `storing the last-good bundle`);
        await this.api.replace(body).catch((e: unknown) => {
          throw wrapTransport(e, `storing the last-good bundle`);
        });
      }
    }
    await this.deleteExcept(hex);
  }

  private async list(): Promise<V1Secret[]> {
    try {
      const list = await this.api.listRaw('v1', 'Secret', this.namespace, `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${APP_LABEL}=${this.appName.slice(0, 63)}`) as { items: V1Secret[] };
      return list.items.filter((s) => s.type === BUNDLE_SECRET_TYPE && s.metadata?.annotations?.[APPLICATION_ANNOTATION] === this.application);
    } catch (err) {
      throw wrapTransport(err, 'listing last-good bundle Secrets');
    }
  }

  private async deleteExcept(hex: string): Promise<void> {
    for (const s of await this.list()) {
      if (s.metadata?.labels?.[DIGEST_LABEL] === hex.slice(0, 63)) continue;
      await this.api.delete({ apiVersion: 'v1', kind: 'Secret', metadata: { name: s.metadata!.name!, namespace: this.namespace } }).catch(() => undefined);
    }
  }

  /** The stored bytes of a bundle, checked against its digest; undefined when not stored. */
  async load(hex: string): Promise<Buffer | undefined> {
    const mine = (await this.list()).filter((s) => s.metadata?.labels?.[DIGEST_LABEL] === hex.slice(0, 63));
    if (mine.length === 0) return undefined;
    const parts = new Map<number, Buffer>();
    let total = -1;
    for (const s of mine) {
      const m = /^(\d+)\/(\d+)$/.exec(s.metadata?.annotations?.[CHUNK_ANNOTATION] ?? '');
      if (!m) continue;
      total = Number(m[2]);
      parts.set(Number(m[1]), Buffer.from(s.data?.['bundle.tar.gz'] ?? '', 'base64'));
    }
    if (total < 1 || parts.size !== total) return undefined;
    const bytes = gunzipSync(Buffer.concat(Array.from({ length: total }, (_, i) => parts.get(i)!)));
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== hex) throw new RelayError('DIGEST_MISMATCH', `the last-good bundle kept in ${this.namespace} does not match its digest (want sha256:${hex}, got sha256:${actual}); it was altered in the cluster`);
    return bytes;
  }
}
