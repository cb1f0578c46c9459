/**
 * Hand-made ustar archives for hostile-input tests. Nothing here uses the tar library: every header
 * byte is written explicitly so tests can produce what no well-behaved writer would.
 */
export interface RawEntry {
  name: string;
  /** Typeflag character: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' FIFO, 'x' pax. */
  type?: string;
  data?: Buffer | string;
  /** Declared size; defaults to data length. */
  size?: number;
  /** Raw 12-byte size field (e.g. base-256), overrides `size`. */
  sizeField?: Buffer;
  linkname?: string;
  prefix?: string;
  mode?: number;
  uname?: string;
  gname?: string;
  magic?: string;
  /** Corrupt the checksum field. */
  badChecksum?: boolean;
  /** Raw name bytes instead of `name` (for invalid UTF-8). */
  nameBytes?: Buffer;
}

function putString(block: Buffer, offset: number, length: number, value: string | Buffer): void {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  b.copy(block, offset, 0, Math.min(length, b.length));
}

function putOctal(block: Buffer, offset: number, length: number, value: number): void {
  putString(block, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

export function rawHeader(e: RawEntry): Buffer {
  const block = Buffer.alloc(512);
  const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
  putString(block, 0, 100, e.nameBytes ?? e.name);
  putOctal(block, 100, 8, e.mode ?? 0o644);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  if (e.sizeField) e.sizeField.copy(block, 124, 0, 12);
  else putOctal(block, 124, 12, e.size ?? data.length);
  putOctal(block, 136, 12, 315532800);
  block[156] = (e.type ?? '0').charCodeAt(0);
  putString(block, 157, 100, e.linkname ?? '');
  putString(block, 257, 8, e.magic ?? 'ustar\u000000');
  putString(block, 265, 32, e.uname ?? 'rollout-relay');
  putString(block, 297, 32, e.gname ?? 'bundle-v1');
  putString(block, 345, 155, e.prefix ?? '');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  if (e.badChecksum) sum += 1;
  putString(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

/** Header + data + zero padding for each entry, then two zero blocks (unless `noEnd`). */
export function rawTar(entries: RawEntry[], opts: { noEnd?: boolean; trailer?: Buffer } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(rawHeader(e));
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    parts.push(data);
    const pad = (512 - (data.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  if (!opts.noEnd) parts.push(Buffer.alloc(1024));
  if (opts.trailer) parts.push(opts.trailer);
  return Buffer.concat(parts);
}
