import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { HookList } from '../../../src/hooks/runner.js';
import type { Hook, HookOutcome, HookRun } from '../../../src/hooks/hook.js';
import type { HookContext } from '../../../src/hooks/types.js';

/** A hook of our own interface whose verdict and timing the test decides. */
class ScriptedHook implements Hook {
  readonly type = 'scripted';
  runs: HookRun[] = [];
  constructor(readonly name: string, readonly timeoutMs: number, private readonly behave: (run: HookRun) => Promise<HookOutcome>) {}
  check(run: HookRun): Promise<HookOutcome> {
    this.runs.push(run);
    return this.behave(run);
  }
}

const pass = (): Promise<HookOutcome> => Promise.resolve({ passed: true, observed: 'ok', message: 'fine' });
const fail = (): Promise<HookOutcome> => Promise.resolve({ passed: false, observed: 'bad', message: 'broken' });
const never = (): Promise<HookOutcome> => new Promise(() => undefined);

function ctx(deadlineInMs: number, extra: Partial<HookContext> = {}): HookContext {
  return {
    application: 'shop/checkout', namespace: 'shop', app: 'checkout', target: 'shenzhen', revision: '7', podTemplateHash: '6d4f8b7c9',
    digest: 'sha256:ab', kubeConfig: new KubeConfig(), deadline: Date.now() + deadlineInMs, ...extra,
  };
}

describe('hooks/runner', () => {
  it('runs hooks in order with filled-in placeholders; results carry name, type, duration and the revision', async () => {
    const a = new ScriptedHook('a', 5000, pass);
    const b = new ScriptedHook('b', 5000, pass);
    const results = await new HookList([a, b]).run(ctx(60_000));
    assert.deepEqual(results.map((r) => [r.name, r.type, r.passed, r.revision]), [['a', 'scripted', true, '7'], ['b', 'scripted', true, '7']]);
    assert.equal(a.runs[0]!.values.podTemplateHash, '6d4f8b7c9');
    assert.equal(a.runs[0]!.values.application, 'shop/checkout');
    assert.ok(results.every((r) => typeof r.seconds === 'number' && r.seconds >= 0));
  });

  it("caps each hook's timeout by what is left of the promotion deadline", async () => {
    const a = new ScriptedHook('a', 60_000, pass);
    const c = ctx(3000);
    await new HookList([a]).run(c);
    assert.equal(a.runs[0]!.deadline, c.deadline);
    assert.ok(a.runs[0]!.budgetMs <= 3000);
    const b = new ScriptedHook('b', 1000, pass);
    await new HookList([b]).run(ctx(60_000));
    assert.ok(b.runs[0]!.budgetMs <= 1000);
  });

  it('a failure ends a promotion run; continueAfterFailure (hooks run) runs the rest', async () => {
    const mk = (): ScriptedHook[] => [new ScriptedHook('a', 1000, fail), new ScriptedHook('b', 1000, pass)];
    const first = await new HookList(mk()).run(ctx(10_000));
    assert.deepEqual(first.map((r) => [r.name, r.passed]), [['a', false]]);
    const all = await new HookList(mk(), { continueAfterFailure: true }).run(ctx(10_000));
    assert.deepEqual(all.map((r) => [r.name, r.passed]), [['a', false], ['b', true]]);
  });

  it('a hook that throws or never answers fails; it never passes', async () => {
    const boom = new ScriptedHook('boom', 1000, () => Promise.reject(new Error('socket hang up')));
    const stuck = new ScriptedHook('stuck', 200, never);
    const results = await new HookList([boom, stuck], { continueAfterFailure: true, graceMs: 100 }).run(ctx(10_000));
    assert.equal(results[0]!.passed, false);
    assert.match(results[0]!.message, /socket hang up/);
    assert.equal(results[1]!.passed, false);
    assert.equal(results[1]!.observed, 'timeout');
    assert.equal(stuck.runs[0]!.signal.aborted, true, 'the overrunning hook is told to stop');
  });

  it('no time left or a cancelled promotion: hooks fail without running', async () => {
    const a = new ScriptedHook('a', 1000, pass);
    const [late] = await new HookList([a]).run(ctx(-1));
    assert.equal(late!.passed, false);
    assert.match(late!.message, /no time left/);
    const ac = new AbortController();
    ac.abort();
    const [cancelled] = await new HookList([a]).run(ctx(10_000, { signal: ac.signal }));
    assert.equal(cancelled!.passed, false);
    assert.equal(a.runs.length, 0);
  });

  it('select picks hooks by name and refuses an unknown one with USAGE', () => {
    const list = new HookList([new ScriptedHook('a', 1, pass), new ScriptedHook('b', 1, pass)]);
    assert.deepEqual(list.select(['b']).names, ['b']);
    assert.throws(() => list.select(['c']), (e) => (e as { code?: string }).code === 'USAGE');
  });
});
