import { open, stat, type FileHandle } from 'node:fs/promises';
import { RelayError } from '../errors.js';

/** Untrusted bytes as a sequence of chunks. A chunk may be reused after the consumer returns. */
export type ByteSource = AsyncIterable<Buffer> | Iterable<Buffer>;

export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a file in fixed-size chunks into one reused buffer (much faster than fs streams and with
 * constant memory). Consumers must not keep a chunk past the next iteration.
 */
export async function* fileChunks(path: string, chunkBytes = READ_CHUNK_BYTES): AsyncGenerator<Buffer> {
  const fh = await openForRead(path);
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** Opens a file for reading; USAGE naming the path when it cannot be. */
export async function openForRead(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new RelayError('USAGE', `cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and its permissions`, { cause: err });
  }
}

/** Size of a regular file; refuses anything else. */
export async function regularFileSize(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw new RelayError('USAGE', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and its permissions`, { cause: err });
  }
  if (!st.isFile()) throw new RelayError('USAGE', `${path} is not a regular file; give the path of a file (not a directory, device or pipe)`);
  return st.size;
}
