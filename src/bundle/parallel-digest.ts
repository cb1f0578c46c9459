import { Worker } from 'node:worker_threads';
import { fileChunks, openForRead, type ByteSource } from './source.js';

/**
 * Every byte of a bundle is hashed twice: once for the whole-file digest (the signed subject) and
 * once for its file's digest (index.json). On one core that halves throughput, so for large files
 * the whole-file digest runs on a worker thread over the very same bytes: the file is read once into
 * a small ring of shared buffers, the worker hashes each buffer while the caller parses and hashes
 * the files in it, and a buffer is refilled only after both are done with it. One read, no copies,
 * constant memory (SLOTS × SLOT_BYTES), and no second read that could see other bytes.
 */

/** Below this size a worker costs more than it saves (its start is ~30 ms; hashing 16 MiB ~15 ms). */
export const PARALLEL_DIGEST_MIN_BYTES = 16 * 1024 * 1024;
const SLOTS = 4;
const SLOT_BYTES = 4 * 1024 * 1024;

// Plain CommonJS evaluated in the worker: no module resolution, no TypeScript loader needed.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.type === 'start') jobs.set(m.job, { hash: createHash('sha256'), views: m.buffers.map((b) => new Uint8Array(b)) });
  else if (m.type === 'data') {
    const j = jobs.get(m.job);
    if (j) j.hash.update(j.views[m.slot].subarray(0, m.length));
    parentPort.postMessage({ job: m.job, slot: m.slot });
  } else if (m.type === 'end') {
    const j = jobs.get(m.job);
    jobs.delete(m.job);
    if (j) parentPort.postMessage({ job: m.job, digest: j.hash.digest('hex') });
  } else if (m.type === 'abort') jobs.delete(m.job);
});
`;

interface Job {
  acks: ((err?: Error) => void)[][];
  done?: { resolve: (hex: string) => void; reject: (err: Error) => void };
}

/** One hashing worker per process, started on first use and kept (unreferenced while idle). */
class DigestWorker {
  private static shared: DigestWorker | undefined;
  private readonly worker: Worker;
  private readonly jobs = new Map<number, Job>();
  private nextJob = 1;
  private failed: Error | undefined;

  static get(): DigestWorker {
    if (!DigestWorker.shared || DigestWorker.shared.failed) DigestWorker.shared = new DigestWorker();
    return DigestWorker.shared;
  }

  private constructor() {
    // execArgv: [] so the worker does not load the parent's loaders (tsx in tests) just to hash.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: { job: number; slot?: number; digest?: string }) => {
      const job = this.jobs.get(m.job);
      if (!job) return;
      if (m.digest !== undefined) {
        this.finishJob(m.job);
        job.done?.resolve(m.digest);
      } else if (m.slot !== undefined) job.acks[m.slot]!.shift()?.();
    });
    const fail = (err: Error): void => {
      this.failed ??= new Error(`the bundle-digest worker stopped: ${err.message}`, { cause: err });
      for (const id of [...this.jobs.keys()]) {
        const job = this.jobs.get(id)!;
        this.finishJob(id);
        for (const waiting of job.acks) for (const ack of waiting.splice(0)) ack(this.failed);
        job.done?.reject(this.failed);
      }
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  private finishJob(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker.unref();
  }

  /** Starts a digest over `buffers`; returns the job's handle. The worker keeps the process alive while a job runs. */
  start(buffers: SharedArrayBuffer[]): DigestJob {
    if (this.failed) throw this.failed;
    const id = this.nextJob++;
    const job: Job = { acks: buffers.map(() => []) };
    this.jobs.set(id, job);
    this.worker.ref();
    this.worker.postMessage({ type: 'start', job: id, buffers });
    return {
      hash: (slot, length) => {
        const acked = new Promise<void>((resolve, reject) => job.acks[slot]!.push((err) => (err ? reject(err) : resolve())));
        this.worker.postMessage({ type: 'data', job: id, slot, length });
        return acked;
      },
      digest: () => {
        const result = new Promise<string>((resolve, reject) => (job.done = { resolve, reject }));
        this.worker.postMessage({ type: 'end', job: id });
        return result;
      },
      abort: () => {
        if (!this.jobs.has(id)) return;
        // Nobody waits for this digest any more; slots the worker may still read are never refilled.
        this.finishJob(id);
        for (const waiting of job.acks) for (const ack of waiting.splice(0)) ack();
        this.worker.postMessage({ type: 'abort', job: id });
      },
    };
  }
}

interface DigestJob {
  /** Hashes `length` bytes of slot `slot`; resolves when the worker no longer needs the slot. */
  hash(slot: number, length: number): Promise<void>;
  digest(): Promise<string>;
  abort(): void;
}

/**
 * A file as a byte source whose whole-file SHA-256 is computed on the worker while the consumer
 * iterates. Chunks are views of shared buffers: a consumer must not keep one past the next
 * iteration (the same contract as `fileChunks`). `digest()` is valid after a full iteration.
 */
export class ParallelDigestFile implements AsyncIterable<Buffer> {
  private result: Promise<string> | undefined;

  constructor(private readonly path: string, private readonly slots = SLOTS, private readonly slotBytes = SLOT_BYTES) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    const fh = await openForRead(this.path);
    const buffers = Array.from({ length: this.slots }, () => new SharedArrayBuffer(this.slotBytes));
    const views = buffers.map((b) => Buffer.from(b));
    const job = DigestWorker.get().start(buffers);
    const workerDone: Promise<void>[] = buffers.map(() => Promise.resolve());
    // The next read is issued before the current chunk is handed out, so reading overlaps parsing.
    const readSlot = async (slot: number): Promise<number> => {
      await workerDone[slot];
      return (await fh.read(views[slot]!, 0, this.slotBytes, null)).bytesRead;
    };
    let next: Promise<number> | undefined = readSlot(0);
    let finished = false;
    try {
      for (let i = 0; ; i++) {
        const slot = i % this.slots;
        const n = await next;
        next = undefined;
        if (n === 0) break;
        workerDone[slot] = job.hash(slot, n);
        next = readSlot((i + 1) % this.slots);
        yield views[slot]!.subarray(0, n);
      }
      this.result = job.digest();
      finished = true;
    } finally {
      if (!finished) job.abort();
      await next?.catch(() => undefined);
      await fh.close();
    }
  }

  /** The whole-file SHA-256 (lower-case hex) of the bytes that were iterated. */
  digest(): Promise<string> {
    if (!this.result) throw new Error('ParallelDigestFile.digest() before the file was read to its end');
    return this.result;
  }
}

/** A source that computes its own whole-file digest while it is iterated. */
export interface SelfDigestingSource extends AsyncIterable<Buffer> {
  digest(): Promise<string>;
}

export function isSelfDigesting(source: unknown): source is SelfDigestingSource {
  return source instanceof ParallelDigestFile;
}

/** The byte source for a bundle file of `size` bytes: hashed on a worker when that pays off. */
export function bundleFileSource(path: string, size: number): ByteSource {
  return size >= PARALLEL_DIGEST_MIN_BYTES ? new ParallelDigestFile(path) : fileChunks(path);
}
