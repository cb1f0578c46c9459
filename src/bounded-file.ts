import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { RelayError, type RelayErrorCode } from './errors.js';

/** Key, certificate and policy files are small; anything bigger is not one. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;
/**
 * Files a person writes (relay config, drill scenario, hook Job template). The overrides file's cap
 * too: a RelayConfig is also read as one (`bundle create --overrides`), so both accept the same files.
 */
export const MAX_SETTINGS_FILE_BYTES = 1024 * 1024;
/**
 * Files rollout-relay writes for itself (the `--state` sequence store, a drill's cut record, the
 * sandbox's state.json). In use they are a few KB; the sequence store grows by about 100 bytes per
 * (target, application), so 16 MiB is over 100 000 of them. Anything bigger, or not a regular file,
 * was not written by rollout-relay: it is refused instead of read into memory.
 */
export const MAX_STATE_FILE_BYTES = 16 * 1024 * 1024;

export interface BoundedReadOptions {
  /** What the file is, for messages ("key", "trust policy"). */
  what: string;
  /** The setting that named the file ("hooks[0] (smoke)"), put before the message. */
  field?: string;
  maxBytes: number;
  /** Code of the refusal when the path is not a small regular file. */
  code: RelayErrorCode;
  /** What to do when it is not (e.g. "delete it"). Default: check that the path names the right file. */
  remedy?: string;
}

// O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

function refuse(path: string, opts: BoundedReadOptions, detail: string, cause?: unknown): RelayError {
  const prefix = opts.field === undefined ? '' : `${opts.field}: `;
  return new RelayError(opts.code, `${prefix}${opts.what} ${path} ${detail}`, cause === undefined ? undefined : { cause });
}

function remedy(opts: BoundedReadOptions): string {
  return opts.remedy ?? 'check that the path names the right file';
}

function checkStat(path: string, st: { isFile(): boolean; size: number }, opts: BoundedReadOptions): void {
  if (!st.isFile()) throw refuse(path, opts, `is not a regular file; ${opts.remedy ?? 'give the path of a file'}`);
  if (st.size > opts.maxBytes) throw refuse(path, opts, `is ${st.size} bytes, above the ${opts.maxBytes}-byte limit for a ${opts.what} file; ${remedy(opts)}`);
}

/**
 * The buffer is sized by the file (one byte more, to see it grow), not by the cap: reading a few-KB
 * file under a 16 MiB cap must not allocate 16 MiB.
 */
function initialBufferBytes(size: number, maxBytes: number): number {
  return Math.min(size, maxBytes) + 1;
}

/** A file that grew while being read: a bigger buffer, never beyond one byte over the cap (which refuses it). */
function grown(buf: Buffer<ArrayBuffer>, maxBytes: number): Buffer<ArrayBuffer> {
  const bigger = Buffer.alloc(Math.min(maxBytes + 1, buf.length * 2));
  buf.copy(bigger);
  return bigger;
}

/**
 * Reads a file only when it is a regular file of at most `maxBytes` (a path like /dev/zero or a FIFO
 * would otherwise read until memory runs out, or block). Also stops if the file grows past the cap.
 */
export function readBoundedFileSync(path: string, opts: BoundedReadOptions): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw refuse(path, opts, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path and its permissions`, err);
  }
  try {
    const st = fstatSync(fd);
    checkStat(path, st, opts);
    let buf = Buffer.alloc(initialBufferBytes(st.size, opts.maxBytes));
    let n = 0;
    for (;;) {
      if (n === buf.length) buf = grown(buf, opts.maxBytes);
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > opts.maxBytes) throw refuse(path, opts, `is above the ${opts.maxBytes}-byte limit for a ${opts.what} file; ${remedy(opts)}`);
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The asynchronous form of readBoundedFileSync. */
export async function readBoundedFile(path: string, opts: BoundedReadOptions): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw refuse(path, opts, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path and its permissions`, err);
  }
  try {
    const st = await fh.stat();
    checkStat(path, st, opts);
    let buf = Buffer.alloc(initialBufferBytes(st.size, opts.maxBytes));
    let n = 0;
    for (;;) {
      if (n === buf.length) buf = grown(buf, opts.maxBytes);
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > opts.maxBytes) throw refuse(path, opts, `is above the ${opts.maxBytes}-byte limit for a ${opts.what} file; ${remedy(opts)}`);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
