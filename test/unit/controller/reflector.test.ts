import assert from 'node:assert/strict';
import { Reflector, GoneError, backoffDelay, type ListerWatcher, type WatchEventType } from '../../../src/controller/reflector.js';

type Obj = { metadata: { name: string; namespace: string; resourceVersion: string } };
const obj = (name: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

/**
 * A scripted API: each list() answers the next list, each watch() plays the next script (events,
 * then an ending: 'end' resolves, an Error rejects). Records the resourceVersion every watch began at.
 */
class ScriptedSource implements ListerWatcher<Obj> {
  readonly description = 'test objects';
  lists: { items: Obj[]; resourceVersion: string }[] = [];
  watches: { events: [WatchEventType, Obj][]; end: 'end' | Error | 'hang' }[] = [];
  listCalls = 0;
  watchedFrom: string[] = [];
  async list() {
    this.listCalls++;
    const l = this.lists.shift();
    if (!l) throw Object.assign(new Error('no more lists'), { statusCode: 500 });
    return l;
  }
  async watch(rv: string, onEvent: (t: WatchEventType, o: Obj) => void, signal: AbortSignal): Promise<void> {
    this.watchedFrom.push(rv);
    const w = this.watches.shift() ?? { events: [], end: 'hang' as const };
    for (const [t, o] of w.events) onEvent(t, o);
    if (w.end === 'hang') await new Promise<void>((r) => signal.addEventListener('abort', () => r()));
    else if (w.end !== 'end') throw w.end;
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
}

describe('controller/reflector', () => {
  const fast = { sleep: () => new Promise<void>((r) => setImmediate(r)), random: () => 0.5 };

  it('lists, then watches from the list resourceVersion and resumes from the last event after a normal end', async () => {
    const src = new ScriptedSource();
    src.lists.push({ items: [obj('a', '10')], resourceVersion: '10' });
    src.watches.push({ events: [['MODIFIED', obj('a', '11')], ['BOOKMARK', obj('', '15')]], end: 'end' }, { events: [['ADDED', obj('b', '16')]], end: 'hang' });
    const r = new Reflector(src, fast);
    const seen: string[] = [];
    r.on('add', (o) => seen.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`));
    r.on('update', (o) => seen.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`));
    r.start();
    await until(() => seen.length === 3);
    await r.stop();
    assert.deepEqual(seen, ['add a@10', 'update a@11', 'add b@16']);
    assert.deepEqual(src.watchedFrom, ['10', '15'], 'resumed from the bookmark, no relist');
    assert.equal(src.listCalls, 1);
    assert.equal(r.synced, true);
  });

  it('relists on 410 Gone and reports objects deleted while it was not watching', async () => {
    const src = new ScriptedSource();
    src.lists.push({ items: [obj('a', '1'), obj('b', '2')], resourceVersion: '2' }, { items: [obj('b', '2'), obj('c', '9')], resourceVersion: '9' });
    src.watches.push({ events: [], end: new GoneError() }, { events: [], end: 'hang' });
    const r = new Reflector(src, fast);
    const seen: string[] = [];
    r.on('add', (o) => seen.push(`add ${o.metadata.name}`));
    r.on('delete', (o) => seen.push(`delete ${o.metadata.name}`));
    r.start();
    await until(() => src.watchedFrom.length === 2);
    await r.stop();
    assert.deepEqual(seen, ['add a', 'add b', 'add c', 'delete a']);
    assert.deepEqual(src.watchedFrom, ['2', '9']);
    assert.deepEqual(r.list().map((o) => o.metadata.name).sort(), ['b', 'c']);
  });

  it('an ERROR event with code 410 relists too', async () => {
    const src = new ScriptedSource();
    src.lists.push({ items: [], resourceVersion: '5' }, { items: [], resourceVersion: '7' });
    src.watches.push({ events: [['ERROR', { code: 410, message: 'too old' } as unknown as Obj]], end: 'end' }, { events: [], end: 'hang' });
    const r = new Reflector(src, fast);
    r.start();
    await until(() => src.watchedFrom.length === 2);
    await r.stop();
    assert.equal(src.listCalls, 2);
    assert.deepEqual(src.watchedFrom, ['5', '7']);
  });

  it('backs off on other errors and resumes from the same resourceVersion (no relist)', async () => {
    const src = new ScriptedSource();
    src.lists.push({ items: [], resourceVersion: '3' });
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    src.watches.push({ events: [], end: refused }, { events: [], end: refused }, { events: [], end: 'hang' });
    const delays: number[] = [];
    const r = new Reflector(src, { sleep: async (ms) => { delays.push(ms); }, random: () => 0.5, initialBackoffMs: 100, maxBackoffMs: 1000 });
    const errors: number[] = [];
    r.on('retry', (_e, ms) => errors.push(ms));
    r.start();
    await until(() => src.watchedFrom.length === 3);
    await r.stop();
    assert.deepEqual(src.watchedFrom, ['3', '3', '3']);
    assert.equal(src.listCalls, 1);
    assert.deepEqual(delays, [75, 150], 'exponential with jitter');
    assert.deepEqual(errors, delays);
  });

  it('keeps retrying a failing list; synced only after a list succeeded', async () => {
    const src = new ScriptedSource();
    const r = new Reflector(src, fast);
    r.start();
    await until(() => src.listCalls >= 3);
    assert.equal(r.synced, false);
    assert.ok(r.lastError);
    src.lists.push({ items: [], resourceVersion: '1' });
    await until(() => r.synced);
    assert.equal(r.lastError, undefined);
    await r.stop();
  });

  it('backoffDelay stays within [cap/2, cap] and caps', () => {
    assert.equal(backoffDelay(1, 500, 30_000, () => 0), 250);
    assert.equal(backoffDelay(1, 500, 30_000, () => 0.999999), 500);
    assert.equal(backoffDelay(4, 500, 30_000, () => 0), 2000);
    assert.equal(backoffDelay(20, 500, 30_000, () => 0), 15_000);
    assert.ok(backoffDelay(20, 500, 30_000, () => 0.999999) <= 30_000);
  });
});
