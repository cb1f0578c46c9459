import assert from 'node:assert/strict';
import { isRelayError } from '../../../src/errors.js';
import { AnswerGuard, type GuardState } from '../../../src/plugin/answer-guard.js';
import { GUARD_STATE_KEY, guardStateData } from '../../../src/plugin/shared-guard.js';
import type { PluginParameter } from '../../../src/plugin/params.js';

function entry(cluster: string): PluginParameter {
  return {
    cluster, server: `https://${cluster}:6443`, namespace: 'shop', application: 'checkout', revision: '1', commit: 'c1',
    bundleDigest: 'sha256:aa', sequence: 1, keyIds: 'k1', hotUpdateStatus: 'completed', inSync: true, cacheAgeSeconds: 0,
  };
}
const clusters = (...names: string[]) => names.map(entry);

describe('plugin: answer guard (cache, TTL, drop budget)', () => {
  let now = 1_000_000;
  const guard = () => new AnswerGuard({ cacheTtlMs: 60_000, maxDropShare: 0.2, confirmReads: 3, now: () => now });
  beforeEach(() => { now = 1_000_000; });

  it('passes a fresh read through with cacheAgeSeconds 0', () => {
    const a = guard().decide('k', { ok: true, parameters: clusters('a', 'b') });
    assert.equal(a.cacheAgeSeconds, 0);
    assert.deepEqual(a.parameters.map((p) => p.cluster), ['a', 'b']);
  });

  it('PLUGIN_UNAVAILABLE: a failed read with nothing cached is an error, never an empty answer', () => {
    assert.throws(() => guard().decide('k', { ok: false, error: new Error('connection refused') }),
      (e) => isRelayError(e, 'PLUGIN_UNAVAILABLE') && /connection refused/.test(e.message));
  });

  it('serves the last good answer with its age while younger than cacheTTL, then refuses', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a', 'b') });
    now += 42_500;
    const cached = g.decide('k', { ok: false, error: new Error('dr down') });
    assert.equal(cached.cacheAgeSeconds, 42);
    assert.ok(cached.parameters.every((p) => p.cacheAgeSeconds === 42));
    assert.equal(cached.servedFromCacheBecause, 'dr down');
    now += 20_000;
    assert.throws(() => g.decide('k', { ok: false, error: new Error('dr down') }), (e) => isRelayError(e, 'PLUGIN_UNAVAILABLE') && /older than cacheTTL/.test(e.message));
  });

  it('caches per request key', () => {
    const g = guard();
    g.decide('one', { ok: true, parameters: clusters('a') });
    assert.throws(() => g.decide('two', { ok: false, error: new Error('x') }), (e) => isRelayError(e, 'PLUGIN_UNAVAILABLE'));
  });

  it('lets a drop within maxDropShare through at once', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a', 'b', 'c', 'd', 'e') });
    assert.deepEqual(g.decide('k', { ok: true, parameters: clusters('a', 'b', 'c', 'd') }).parameters.length, 4);
  });

  it('DROP_BUDGET_EXCEEDED: a larger drop is refused until confirmReads consecutive reads agree', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a', 'b', 'c') });
    for (const n of [1, 2]) {
      assert.throws(() => g.decide('k', { ok: true, parameters: clusters('a') }),
        (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED') && e.message.includes(`(${n} so far)`) && e.message.includes('b/shop/checkout'));
    }
    assert.deepEqual(g.decide('k', { ok: true, parameters: clusters('a') }).parameters.map((p) => p.cluster), ['a']);
  });

  it('an empty read after a full answer is a 100 % drop: refused, the cache still served on errors', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a', 'b') });
    assert.throws(() => g.decide('k', { ok: true, parameters: [] }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED'));
    assert.equal(g.decide('k', { ok: false, error: new Error('x') }).parameters.length, 2);
  });

  it('a different drop, or recovery, restarts the confirmation count', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a', 'b', 'c') });
    assert.throws(() => g.decide('k', { ok: true, parameters: clusters('a') }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED'));
    assert.throws(() => g.decide('k', { ok: true, parameters: clusters('a') }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED'));
    assert.throws(() => g.decide('k', { ok: true, parameters: clusters('b') }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED') && e.message.includes('(1 so far)'));
    g.decide('k', { ok: true, parameters: clusters('a', 'b', 'c') });
    assert.throws(() => g.decide('k', { ok: true, parameters: clusters('a') }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED') && e.message.includes('(1 so far)'));
  });

  it('growth is never limited', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a') });
    assert.equal(g.decide('k', { ok: true, parameters: clusters('a', 'b', 'c', 'd') }).parameters.length, 4);
  });

  it('exports its memory as JSON another guard imports: cache age and a pending drop carry over (a restart)', () => {
    const first = guard();
    first.decide('k', { ok: true, parameters: clusters('a', 'b', 'c') });
    assert.throws(() => first.decide('k', { ok: true, parameters: clusters('a') }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED'));
    const stored = JSON.parse(guardStateData(first.exportState())[GUARD_STATE_KEY]!) as unknown;
    const second = guard();
    second.importState(stored);
    now += 30_000;
    assert.equal(second.decide('k', { ok: false, error: new Error('DR down') }).cacheAgeSeconds, 30, 'the cached answer, with its age');
    assert.throws(() => second.decide('k', { ok: true, parameters: clusters('a') }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED') && e.message.includes('(2 so far)'));
    assert.equal(second.decide('k', { ok: true, parameters: clusters('a') }).parameters.length, 1, 'the third agreeing read passes');
  });

  it('importState reads a state written before keyIds was published (keyIds unknown: an empty string)', () => {
    const g = guard();
    const { keyIds: _, ...old } = entry('a');
    g.importState({ version: 1, answers: [{ key: 'k', at: now, parameters: [old] }] });
    const cached = g.decide('k', { ok: false, error: new Error('DR down') });
    assert.equal(cached.parameters[0]!.keyIds, '');
    assert.equal(cached.parameters[0]!.commit, 'c1');
    assert.throws(() => guard().importState({ version: 1, answers: [{ key: 'k', at: now, parameters: [{ ...old, keyIds: ['k1'] }] }] }), (e) => isRelayError(e, 'MALFORMED'));
  });

  it('importState refuses what it did not write (MALFORMED) and keeps its memory', () => {
    const g = guard();
    g.decide('k', { ok: true, parameters: clusters('a', 'b') });
    for (const bad of [undefined, {}, { version: 2, answers: [] }, { version: 1, answers: [{ key: 'k', at: 'x', parameters: [] }] }, { version: 1, answers: [{ key: 'k', at: 1, parameters: [{ cluster: 'a' }] }] }]) {
      assert.throws(() => g.importState(bad), (e) => isRelayError(e, 'MALFORMED'));
    }
    assert.throws(() => g.decide('k', { ok: true, parameters: [] }), (e) => isRelayError(e, 'DROP_BUDGET_EXCEEDED'), 'still remembers a and b');
  });

  it('the stored state fits a ConfigMap: the least recently answered requests are left out first', () => {
    const g = new AnswerGuard({ now: () => now });
    const many = Array.from({ length: 400 }, (_, i) => entry(`cluster-${String(i).padStart(3, '0')}-${'x'.repeat(20)}`));
    for (let k = 0; k < 10; k++) g.decide(`request-${k}`, { ok: true, parameters: many });
    const data = guardStateData(g.exportState());
    assert.ok(Buffer.byteLength(data[GUARD_STATE_KEY]!) <= 900 * 1024);
    const kept = (JSON.parse(data[GUARD_STATE_KEY]!) as GuardState).answers.map((a) => a.key);
    assert.ok(kept.length > 0 && kept.length < 10, `kept ${kept.length}`);
    assert.deepEqual(kept, Array.from({ length: 10 }, (_, k) => `request-${k}`).slice(10 - kept.length), 'the newest ones');
  });
});
