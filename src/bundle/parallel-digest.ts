import { Worker } from 'node:worker_threads';
import { fileChunks, openForRead, type ByteSource } from './source.js';

/**
 * Every byte of a bundle is hashed twice: once for the whole-file digest (the signed subject) and
 * once for its file's digest (index.json). On one core that halves throughput, so for large files a
 * worker thread reads the file into a small ring of shared buffers and hashes each buffer for the
 * whole-file digest, while the caller parses and hashes the files in it; a buffer is refilled only
 * after both are done with it. One read, no copies, constant memory (SLOTS × SLOT_BYTES), no second
 * read that could see other bytes, and two busy threads on two cores: reading on the worker (not
 * libuv's pool) keeps a third thread from taking turns with them.
 */

/** Below this size a worker costs more than it saves (its start is ~30 ms; hashing 16 MiB ~15 ms). */
export const PARALLEL_DIGEST_MIN_BYTES = 16 * 1024 * 1024;
const SLOTS = 4;
const SLOT_BYTES = 4 * 1024 * 1024;

/** `control` (Int32Array over a SharedArrayBuffer): [0] abort flag, [1 + slot] 1 while the caller holds that slot. */
const ABORT = 0;
const HELD = 1;

// Plain CommonJS evaluated in the worker: no module resolution, no TypeScript loader needed. A job
// runs to its end (or abort) in one go: it blocks on Atomics.wait while the caller still holds the
// slot it needs next, so each worker serves one job at a time (the pool below gives each its own).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { readSync } = require('node:fs');
parentPort.on('message', ({ fd, buffers, control }) => {
  const state = new Int32Array(control);
  const views = buffers.map((b) => new Uint8Array(b));
  const hash = createHash('sha256');
  let position = 0;
  try {
    for (let i = 0; ; i++) {
      const slot = i % views.length;
      while (Atomics.load(state, ${HELD} + slot) === 1 && Atomics.load(state, ${ABORT}) === 0) Atomics.wait(state, ${HELD} + slot, 1);
      if (Atomics.load(state, ${ABORT}) !== 0) return parentPort.postMessage({ aborted: true });
      const length = readSync(fd, views[slot], 0, views[slot].length, position);
      if (length === 0) return parentPort.postMessage({ digest: hash.digest('hex') });
      position += length;
      Atomics.store(state, ${HELD} + slot, 1);
      parentPort.postMessage({ slot, length });
      hash.update(views[slot].subarray(0, length));
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err), code: err && err.code });
  }
});
`;

/** Idle workers kept for the next job; more run only while that many files are read at once. */
const MAX_IDLE_WORKERS = 2;

type WorkerMessage = { slot: number; length: number } | { digest: string } | { aborted: true } | { error: string; code?: string };

/** A worker thread that reads and hashes one file at a time; idle ones are kept (unreferenced) for the next. */
class ReadHashWorker {
  private static readonly idle: ReadHashWorker[] = [];
  private readonly worker: Worker;
  private onMessage: ((m: WorkerMessage) => void) | undefined;
  private failed: Error | undefined;

  static take(): ReadHashWorker {
    // An idle worker may have died since (killed, out of memory): it is dropped, not handed out.
    for (let w = ReadHashWorker.idle.pop(); w; w = ReadHashWorker.idle.pop()) if (!w.failed) return w;
    return new ReadHashWorker();
  }

  private constructor() {
    // execArgv: [] so the worker does not load the parent's loaders (tsx in tests) just to hash.
    this.worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    this.worker.unref();
    this.worker.on('message', (m: WorkerMessage) => this.onMessage?.(m));
    const fail = (err: Error): void => {
      this.failed ??= new Error(`the bundle-digest worker stopped: ${err.message}`, { cause: err });
      this.onMessage?.({ error: this.failed.message });
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  /** Starts reading `fd` into `buffers`; every message of the job goes to `onMessage`. The worker keeps the process alive meanwhile. */
  start(fd: number, buffers: SharedArrayBuffer[], control: SharedArrayBuffer, onMessage: (m: WorkerMessage) => void): void {
    if (this.failed) throw this.failed;
    this.onMessage = onMessage;
    this.worker.ref();
    this.worker.postMessage({ fd, buffers, control });
  }

  /** After the job's last message: back to the pool, unless it failed or the pool is full (then it ends). */
  release(): void {
    this.onMessage = undefined;
    this.worker.unref();
    if (!this.failed && ReadHashWorker.idle.length < MAX_IDLE_WORKERS) ReadHashWorker.idle.push(this);
    else void this.worker.terminate();
  }
}

/**
 * A file as a byte source whose whole-file SHA-256 is computed on a worker while the consumer
 * iterates. Chunks are views of shared buffers: a consumer must not keep one past the next
 * iteration (the same contract as `fileChunks`). `digest()` is valid after a full iteration.
 */
export class ParallelDigestFile implements AsyncIterable<Buffer> {
  private result: string | undefined;

  constructor(private readonly path: string, private readonly slots = SLOTS, private readonly slotBytes = SLOT_BYTES) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    const fh = await openForRead(this.path);
    const buffers = Array.from({ length: this.slots }, () => new SharedArrayBuffer(this.slotBytes));
    const views = buffers.map((b) => Buffer.from(b));
    const control = new Int32Array(new SharedArrayBuffer(4 * (HELD + this.slots)));
    const inbox: WorkerMessage[] = [];
    let wake: (() => void) | undefined;
    const worker = ReadHashWorker.take();
    let last: WorkerMessage | undefined; // the job's final message (digest, aborted or error)
    const nextMessage = async (): Promise<WorkerMessage> => {
      while (!inbox.length) await new Promise<void>((resolve) => (wake = resolve));
      return inbox.shift()!;
    };
    const release = (slot: number): void => {
      Atomics.store(control, HELD + slot, 0);
      Atomics.notify(control, HELD + slot);
    };
    worker.start(fh.fd, buffers, control.buffer as SharedArrayBuffer, (m) => {
      inbox.push(m);
      wake?.();
    });
    try {
      for (;;) {
        const m = await nextMessage();
        if ('slot' in m) {
          yield views[m.slot]!.subarray(0, m.length);
          release(m.slot);
          continue;
        }
        last = m;
        if ('digest' in m) this.result = m.digest;
        if ('error' in m) throw Object.assign(new Error(`reading ${this.path}: ${m.error}`), m.code ? { code: m.code } : {});
        return;
      }
    } finally {
      if (!last) {
        // Stopped early (a refusal mid-file): the worker must be done with the file before it is closed.
        Atomics.store(control, ABORT, 1);
        for (let slot = 0; slot < this.slots; slot++) release(slot);
        while (!last || 'slot' in last) last = await nextMessage();
      }
      worker.release();
      await fh.close();
    }
  }

  /** The whole-file SHA-256 (lower-case hex) of the bytes that were iterated. */
  digest(): Promise<string> {
    if (this.result === undefined) throw new Error('ParallelDigestFile.digest() before the file was read to its end');
    return Promise.resolve(this.result);
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
