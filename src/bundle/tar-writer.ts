import { Header } from 'tar';
import { TAR_FORMAT_TAG, TAR_OWNER } from './index-file.js';

/** Fixed header values: every bundle entry looks the same on every machine. */
export const TAR_MTIME = new Date('1980-01-01T00:00:00Z');
export const TAR_MODE = 0o644;
export const BLOCK = 512;

export interface TarFile {
  /** At most 100 bytes, so it fits the ustar name field without extension headers. */
  path: string;
  data: Buffer;
}

/** One ustar header block encoded by tar's own Header class with fixed owner, mode and mtime. */
export function tarHeader(path: string, size: number): Buffer {
  if (Buffer.byteLength(path) > 100) throw new Error(`tar path longer than 100 bytes: ${path}`);
  const block = Buffer.alloc(BLOCK);
  const header = new Header({
    path,
    mode: TAR_MODE,
    uid: 0,
    gid: 0,
    size,
    mtime: TAR_MTIME,
    type: 'File',
    uname: TAR_OWNER,
    gname: TAR_FORMAT_TAG,
  });
  if (header.encode(block, 0)) throw new Error(`tar entry ${path} would need a pax header`);
  return block;
}

export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The archive as a sequence of chunks (header, data, padding per file, then two zero blocks). */
export function* tarChunks(files: Iterable<TarFile>): Generator<Buffer> {
  for (const f of files) {
    yield tarHeader(f.path, f.data.length);
    yield f.data;
    const pad = paddingFor(f.data.length);
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Size in bytes of the archive of files with these sizes. */
export function tarSize(sizes: Iterable<number>): number {
  let total = 2 * BLOCK;
  for (const s of sizes) total += BLOCK + s + paddingFor(s);
  return total;
}
