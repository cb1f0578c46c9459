/**
 * Writes large bundles without holding them in memory: objects are generated deterministically by
 * index, rendered twice (once to hash for index.json, once to write). Used by the bundle bench, the
 * 1 GiB memory check and the unit suite's streaming test.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import {
  buildIndex,
  fileChunks,
  manifestPath,
  prepareObjects,
  serializeIndex,
  stringifyManifest,
  tarHeader,
  INDEX_PATH,
  type BundleFile,
  type BundleMetaOptions,
  type KubeObject,
} from '../src/bundle/index.js';

export const BIG_META: BundleMetaOptions = {
  source: { cluster: 'shanghai', namespace: 'bench', kind: 'Rollout', name: 'big' },
  sequence: 1,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  expiresAt: new Date('2100-01-01T00:00:00Z'),
  targets: ['shenzhen'],
};

/** A ConfigMap of about `bytes` bytes; content depends only on i. */
export function bigObject(i: number, bytes: number): KubeObject {
  // One long line: YAML renders it as a plain scalar, several times faster than a block scalar.
  const line = `line-${i}-abcdefghijklmnopqrstuvwxyz0123456789.`;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${String(i).padStart(6, '0')}`, namespace: 'bench', labels: { app: 'big' } },
    data: { 'payload.txt': line.repeat(Math.max(1, Math.floor(bytes / line.length))) },
  };
}

function render(i: number, bytes: number): { path: string; data: Buffer } {
  // Canonical form and order are those of createBundle: names sort in index order.
  const obj = prepareObjects([bigObject(i, bytes)]).objects[0]!;
  return { path: manifestPath(obj, i + 1), data: Buffer.from(stringifyManifest(obj), 'utf8') };
}

/**
 * Writes a bundle of `count` ConfigMaps of ~`bytesPerObject` each; returns its sha256 and index.
 * Each object is rendered once: entries go to a side file while index.json is built, then the
 * bundle is index.json followed by that file.
 */
export async function writeBigBundle(path: string, count: number, bytesPerObject: number, meta: BundleMetaOptions = BIG_META) {
  const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
  const files: BundleFile[] = [];
  const bodyPath = `${path}.body`;
  const body = await open(bodyPath, 'w');
  try {
    for (let i = 0; i < count; i++) {
      const f = render(i, bytesPerObject);
      files.push({ path: f.path, size: f.data.length, sha256: createHash('sha256').update(f.data).digest('hex') });
      await body.write(Buffer.concat([tarHeader(f.path, f.data.length), f.data, pad(f.data.length)]));
    }
  } finally {
    await body.close();
  }
  const index = buildIndex(meta, files);
  const whole = createHash('sha256');
  const out = await open(path, 'w');
  let size = 0;
  const write = async (b: Buffer) => {
    whole.update(b);
    size += b.length;
    await out.write(b);
  };
  try {
    const idx = serializeIndex(index);
    await write(Buffer.concat([tarHeader(INDEX_PATH, idx.length), idx, pad(idx.length)]));
    for await (const chunk of fileChunks(bodyPath, 4 * 1024 * 1024)) await write(chunk);
    await write(Buffer.alloc(1024));
  } finally {
    await out.close();
    await rm(bodyPath, { force: true });
  }
  return { digest: whole.digest('hex'), index, size };
}
