import assert from 'node:assert/strict';
import { transportFor } from '../../../src/cluster/api-transport.js';
import { SourceRecord, sourceRecordFromData, sourceRecordToData, type SourceRecordData } from '../../../src/promote/source-record.js';
import { isRelayError } from '../../../src/errors.js';
import { FreezableRelay, h2Server, kubeConfig, listen } from '../../helpers/api-test-servers.js';

describe('promote/source-record data', () => {
  const rec: SourceRecordData = {
    sequence: 12,
    lastBundle: { digest: 'sha256:' + 'b'.repeat(64), sequence: 12, createdAt: '2026-01-01T00:00:00Z', revision: '4', podTemplateHash: '5d8f', commit: 'abc123' },
    targets: {
      shenzhen: { state: 'completed', message: 'ok', sequence: 12, digest: 'sha256:' + 'b'.repeat(64), revision: '4', at: '2026-01-01T00:00:05Z' },
      beijing: { state: 'failed', code: 'CLUSTER_UNREACHABLE', message: 'connect ECONNREFUSED', sequence: 12, digest: 'sha256:' + 'b'.repeat(64), revision: '4', at: '2026-01-01T00:00:02Z' },
    },
  };

  it('round-trips through ConfigMap data, with flat copies of the last bundle for kubectl readers', () => {
    const data = sourceRecordToData(rec);
    assert.equal(data.sequence, '12');
    assert.equal(data.last_bundle_digest, rec.lastBundle!.digest);
    assert.equal(data.last_bundle_commit, 'abc123');
    assert.equal(JSON.parse(data['target.beijing']!).code, 'CLUSTER_UNREACHABLE');
    for (const v of Object.values(data)) assert.equal(typeof v, 'string');
    assert.deepEqual(sourceRecordFromData(data), rec);
  });

  it('an absent record is sequence 0 with no targets', () => {
    assert.deepEqual(sourceRecordFromData(undefined), { sequence: 0, targets: {} });
  });

  it('refuses damaged data with MALFORMED', () => {
    assert.throws(() => sourceRecordFromData({ sequence: 'x' }), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => sourceRecordFromData({ sequence: '1', 'target.a': '{' }), (e) => isRelayError(e, 'MALFORMED'));
  });
});

describe('promote/source-record: recording an outcome has a bound of its own', function () {
  this.timeout(30_000);
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).reverse().forEach((c) => c()));
  const outcome = { state: 'completed' as const, message: 'ok', sequence: 3, digest: 'sha256:' + 'c'.repeat(64), revision: '7', at: '2026-01-01T00:00:05Z' };

  async function recordBehind(relayFrozen: boolean): Promise<SourceRecord> {
    const server = h2Server();
    const relay = new FreezableRelay(Number(new URL(await listen(server)).port));
    const kc = kubeConfig(await relay.listen());
    closers.push(() => server.close(), () => relay.close(), () => transportFor(kc).close());
    if (relayFrozen) relay.freeze();
    return new SourceRecord(kc, 'shop/web');
  }

  it('a primary that answers nothing: DEADLINE_EXCEEDED at the bound, long before the 60 s request timeout, naming the record', async () => {
    const record = await recordBehind(true);
    const err = await record.recordTarget('shenzhen', outcome, { withinMs: 300 }).then(() => assert.fail('expected a rejection'), (e: unknown) => e);
    assert.ok(isRelayError(err, 'DEADLINE_EXCEEDED'), String(err));
    assert.match(err.message, /^recording shenzhen's outcome in source record shop\/rollout-relay-source-web took longer than 0\.3 s; .*record catches up with the next promotion/);
  });

  it('a primary that answers: recorded within the bound', async () => {
    const record = await recordBehind(false);
    await record.recordTarget('shenzhen', outcome, { withinMs: 20_000 });
  });
});
