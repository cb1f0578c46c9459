import assert from 'node:assert/strict';
import { sourceRecordFromData, sourceRecordToData, type SourceRecordData } from '../../../src/promote/source-record.js';
import { isRelayError } from '../../../src/errors.js';

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
