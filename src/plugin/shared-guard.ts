import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigMapCas } from '../cluster/configmap-cas.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../status/model.js';
import type { AnswerGuard, GuardAnswer, GuardState, ReadResult } from './answer-guard.js';
import type { PluginLog } from './handler.js';

/** The data key holding the guard's state (JSON). */
export const GUARD_STATE_KEY = 'answers.json';
/** A ConfigMap holds at most 1 MiB; the oldest answers are left out beyond this. */
const MAX_STATE_BYTES = 900 * 1024;

/** Where the guard's state is kept in the primary cluster. */
export interface GuardStateRef {
  namespace: string;
  name: string;
}

/** The decision the handler needs: the guard's own, or one shared through a ConfigMap. */
export interface AnswerDecider {
  decide(key: string, read: ReadResult): GuardAnswer | Promise<GuardAnswer>;
}

/** The state as stored, trimmed to fit a ConfigMap (least recently answered left out first). */
export function guardStateData(state: GuardState): Record<string, string> {
  const answers = [...state.answers];
  let text = JSON.stringify({ ...state, answers });
  while (Buffer.byteLength(text) > MAX_STATE_BYTES && answers.length > 0) {
    answers.shift();
    text = JSON.stringify({ ...state, answers });
  }
  return { [GUARD_STATE_KEY]: text };
}

function parseData(data: Record<string, string> | undefined): unknown {
  const text = data?.[GUARD_STATE_KEY];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { malformed: true };
  }
}

/**
 * The answer guard with its memory (last good answers, pending drops) kept in a ConfigMap in the
 * primary cluster, read and written with compare-and-swap on every request. Why: Argo CD deletes
 * every Application its generator stops listing, and clusters mostly disappear from the answer
 * after a config change, which means a restart; a budget kept only in memory would let exactly
 * that first answer through unchecked, and two replicas behind one Service would each count
 * "consecutive reads" on their own. When the ConfigMap cannot be read or written the decision is
 * made on what this process remembers (no worse than an unshared guard) and logged.
 */
export class SharedAnswerGuard implements AnswerDecider {
  private readonly store: ConfigMapCas<unknown>;

  constructor(private readonly guard: AnswerGuard, primary: KubeConfig, ref: GuardStateRef, private readonly log?: PluginLog) {
    this.store = new ConfigMapCas<unknown>(primary, {
      namespace: ref.namespace, name: ref.name, describe: 'plugin guard state',
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, annotations: {},
      fromData: parseData,
      toData: (state) => guardStateData(state as GuardState),
      maxAttempts: 8, backoffMs: 50,
    });
  }

  async decide(key: string, read: ReadResult): Promise<GuardAnswer> {
    let outcome: { answer: GuardAnswer } | { error: unknown } | undefined;
    const decideHere = (): void => {
      try {
        outcome = { answer: this.guard.decide(key, read) };
      } catch (error) {
        outcome = { error };
      }
    };
    try {
      await this.store.update((stored) => {
        if (stored !== undefined) {
          try {
            this.guard.importState(stored);
          } catch (err) {
            this.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'plugin guard state unreadable; it is replaced');
          }
        }
        decideHere();
        // Only a successful read changes what is remembered (a new answer or a pending drop).
        return read.ok ? { write: this.guard.exportState() } : { keep: stored };
      });
    } catch (err) {
      this.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'plugin guard state not shared (ConfigMap unreachable); deciding on this process\'s memory');
      if (outcome === undefined) decideHere();
    }
    if (outcome === undefined) decideHere();
    const decided = outcome!;
    if ('error' in decided) throw decided.error;
    return decided.answer;
  }
}
