import assert from 'node:assert/strict';
import { withTargetLock } from '../../../src/promote/lock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('promote/lock', () => {
  it('runs promotions of one (application, target) one at a time, in call order', async () => {
    const log: string[] = [];
    const run = (id: string, ms: number) => withTargetLock('shop/web', 'shenzhen', async () => {
      log.push(`start ${id}`);
      await sleep(ms);
      log.push(`end ${id}`);
      return id;
    });
    const results = await Promise.all([run('a', 30), run('b', 5), run('c', 1)]);
    assert.deepEqual(results, ['a', 'b', 'c']);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('lets other targets and applications run at the same time, and releases after a failure', async () => {
    const log: string[] = [];
    const slow = withTargetLock('shop/web', 'shenzhen', async () => {
      await sleep(30);
      log.push('shenzhen');
      throw new Error('boom');
    });
    const other = withTargetLock('shop/web', 'beijing', async () => {
      log.push('beijing');
    });
    const app = withTargetLock('shop/cart', 'shenzhen', async () => {
      log.push('cart');
    });
    await Promise.all([other, app]);
    assert.deepEqual(log, ['beijing', 'cart']);
    await assert.rejects(slow, /boom/);
    assert.equal(await withTargetLock('shop/web', 'shenzhen', async () => 'after'), 'after');
  });
});
