import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { readBoundedFile, MAX_STATE_FILE_BYTES } from '../bounded-file.js';
import { writeFileAtomic } from '../bundle/create.js';
import { RelayError } from '../errors.js';

/**
 * Last accepted bundle sequence per (application, target cluster). The CLI uses a JSON file; the
 * controller implements it on the status ConfigMap.
 */
export interface SequenceStateStore {
  get(application: string, target: string): Promise<number | undefined>;
  put(application: string, target: string, sequence: number): Promise<void>;
}

/** In-memory store for tests and one-shot runs. */
export class MemorySequenceStore implements SequenceStateStore {
  readonly entries = new Map<string, number>();
  get(application: string, target: string): Promise<number | undefined> {
    return Promise.resolve(this.entries.get(`${target}\u0000${application}`));
  }
  put(application: string, target: string, sequence: number): Promise<void> {
    this.entries.set(`${target}\u0000${application}`, sequence);
    return Promise.resolve();
  }
}

const fileSchema = z.strictObject({
  version: z.literal(1),
  targets: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
});
type StateFile = z.infer<typeof fileSchema>;

/**
 * `{"version":1,"targets":{"<target>":{"<application>":<sequence>}}}` in one file, rewritten atomically
 * (temp file + fsync + rename). A missing file is an empty store; a damaged one is refused.
 */
export class JsonFileSequenceStore implements SequenceStateStore {
  constructor(readonly path: string) {}

  private async load(): Promise<StateFile> {
    let text: string;
    try {
      // Bounded: a --state naming /dev/zero, a FIFO or a huge file is refused, not read into memory.
      text = (await readBoundedFile(this.path, {
        what: 'state', maxBytes: MAX_STATE_FILE_BYTES, code: 'USAGE',
        remedy: 'rollout-relay did not write it: check that --state names the state file, or restore that file from backup',
      })).toString('utf8');
    } catch (err) {
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { version: 1, targets: {} };
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new RelayError('MALFORMED', `state file ${this.path} is not JSON; restore it from backup (deleting it disables replay protection until the next accept)`, { cause: err });
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) throw new RelayError('MALFORMED', `state file ${this.path} has an unexpected shape; restore it from backup`);
    return parsed.data;
  }

  async get(application: string, target: string): Promise<number | undefined> {
    const state = await this.load();
    return Object.hasOwn(state.targets, target) && Object.hasOwn(state.targets[target]!, application) ? state.targets[target]![application] : undefined;
  }

  async put(application: string, target: string, sequence: number): Promise<void> {
    for (const k of [application, target]) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw new RelayError('USAGE', `"${k}" cannot be an application or target name`);
    }
    const state = await this.load();
    const perTarget = Object.hasOwn(state.targets, target) ? state.targets[target]! : (state.targets[target] = {});
    perTarget[application] = sequence;
    await mkdir(dirname(this.path), { recursive: true });
    await writeFileAtomic(this.path, [Buffer.from(JSON.stringify(state, null, 2) + '\n')]);
  }
}
