import assert from 'node:assert/strict';
import { LeaderElector, leaseRequestTimeoutMs, microTime, type LeaseRecord, type LeaseStore, type StoredLease } from '../../../src/controller/leader-election.js';

/** One Lease with resourceVersion compare-and-swap, like the API server's. */
class MemoryLease implements LeaseStore {
  stored: StoredLease | undefined;
  private rv = 0;
  down = false;
  async get() {
    if (this.down) throw new Error('connect ECONNREFUSED');
    return this.stored && structuredClone(this.stored);
  }
  async create(record: LeaseRecord) {
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (this.stored) throw Object.assign(new Error('exists'), { code: 409 });
    this.stored = { record: structuredClone(record), resourceVersion: String(++this.rv) };
    return structuredClone(this.stored);
  }
  async replace(record: LeaseRecord, resourceVersion: string) {
    if (this.down) throw new Error('connect ECONNREFUSED');
    if (!this.stored || this.stored.resourceVersion !== resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.stored = { record: structuredClone(record), resourceVersion: String(++this.rv) };
    return structuredClone(this.stored);
  }
}

describe('controller/leader-election', () => {
  let clock = 0;
  const cfg = (identity: string) => ({ identity, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, now: () => clock });
  beforeEach(() => { clock = 1_000_000; });

  it('the first candidate takes the Lease; the second waits while it is renewed', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, cfg('a'));
    const b = new LeaderElector(lease, cfg('b'));
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(a.isLeader, true);
    for (let i = 0; i < 20; i++) {
      clock += 2_000;
      assert.equal(await a.tryAcquireOrRenew(), true);
      assert.equal(await b.tryAcquireOrRenew(), false);
    }
    assert.equal(b.isLeader, false);
    assert.equal(b.leader, 'a');
    assert.equal(lease.stored!.record.leaseTransitions, 0);
  });

  it('a dead leader is replaced once its lease expired on the candidate\'s own clock', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, cfg('a'));
    const b = new LeaderElector(lease, cfg('b'));
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew(); // b observes a's record now
    // a dies (no more renewals). b retries every 2 s.
    let takeoverAt = 0;
    for (let t = 2_000; t <= 20_000; t += 2_000) {
      clock += 2_000;
      if (await b.tryAcquireOrRenew()) { takeoverAt = t; break; }
    }
    assert.equal(takeoverAt, 16_000, 'first retry after 15 s without change');
    assert.equal(lease.stored!.record.holderIdentity, 'b');
    assert.equal(lease.stored!.record.leaseTransitions, 1);
  });

  it('a leader that cannot renew steps down after the renew deadline', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, cfg('a'));
    const events: string[] = [];
    a.on('started-leading', () => events.push('started'));
    a.on('stopped-leading', () => events.push('stopped'));
    a.on('failure', () => events.push('failure'));
    await a.tryAcquireOrRenew();
    lease.down = true;
    clock += 2_000; await a.tryAcquireOrRenew();
    clock += 6_000; await a.tryAcquireOrRenew();
    assert.equal(a.isLeader, true, 'still within 10 s of the last renewal');
    clock += 2_000; await a.tryAcquireOrRenew();
    assert.equal(a.isLeader, false);
    assert.deepEqual(events, ['started', 'failure', 'failure', 'failure', 'stopped']);
  });

  it('two candidates racing for a free Lease: exactly one wins the compare-and-swap', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, cfg('a'));
    const b = new LeaderElector(lease, cfg('b'));
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.equal(Number(ra) + Number(rb), 1);
  });

  it('release() empties the holder so the next candidate takes over at its next retry', async () => {
    const lease = new MemoryLease();
    const a = new LeaderElector(lease, cfg('a'));
    const b = new LeaderElector(lease, cfg('b'));
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew();
    await a.release();
    assert.equal(lease.stored!.record.holderIdentity, '');
    assert.equal(a.isLeader, false);
    clock += 2_000;
    assert.equal(await b.tryAcquireOrRenew(), true);
  });

  it('writes MicroTime with the six fractional digits the API server requires', () => {
    assert.equal(microTime(new Date('2026-11-28T19:11:45.669Z')), '2026-11-28T19:11:45.669000Z');
  });

  it('bounds each Lease request by half the renew deadline (a read and a write end within it), at least 1 s', () => {
    assert.equal(leaseRequestTimeoutMs(10_000), 5000);
    assert.equal(leaseRequestTimeoutMs(1500), 1000);
  });
});
