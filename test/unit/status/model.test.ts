import assert from 'node:assert/strict';
import { emptyStatus, mergeStatus, parseApplication, statusConfigMapName, statusFromData, statusToData, type StatusRecord } from '../../../src/status/model.js';
import { isRelayError } from '../../../src/errors.js';

describe('status/model', () => {
  const rec: StatusRecord = {
    ...emptyStatus(), state: 'completed', revision: '7', bundleDigest: 'sha256:' + 'a'.repeat(64), sequence: 7, sourceCluster: 'shanghai',
    startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:01:00Z', phaseDurations: { apply: 12 }, message: 'ok',
    inventory: [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'x', name: 'a' }],
    lastCompleted: { bundleDigest: 'sha256:' + 'a'.repeat(64), sequence: 7, revision: '7', finishedAt: '2026-01-01T00:01:00Z', inventory: [] },
    updateCount: 3,
  };

  it('round-trips through ConfigMap data with the design §6 keys (all strings)', () => {
    const data = statusToData(rec);
    for (const k of ['hot_update_status', 'revision', 'bundle_digest', 'sequence', 'source_cluster', 'started_at', 'finished_at', 'phase_durations', 'post_checks', 'message', 'inventory', 'key_ids']) {
      assert.equal(typeof data[k], 'string', k);
    }
    assert.deepEqual(statusFromData(data), rec);
  });

  it('records the verifying key ids as key_ids (a JSON list) and in last_completed', () => {
    const keyId = 'b'.repeat(64);
    const withKeys: StatusRecord = { ...rec, keyIds: [keyId], lastCompleted: { ...rec.lastCompleted!, keyIds: [keyId] } };
    const data = statusToData(withKeys);
    assert.equal(data.key_ids, JSON.stringify([keyId]));
    assert.deepEqual(JSON.parse(data.last_completed!).keyIds, [keyId]);
    assert.deepEqual(statusFromData(data), withKeys);
    assert.equal(statusToData(emptyStatus()).key_ids, '[]');
  });

  it('reads a status ConfigMap written before key_ids existed as no key ids', () => {
    const data = statusToData(rec);
    delete data.key_ids;
    const read = statusFromData(data);
    assert.deepEqual(read.keyIds, []);
    assert.equal(read.lastCompleted?.keyIds, undefined);
    assert.deepEqual(statusFromData({ key_ids: '' }).keyIds, []);
  });

  it('keeps the key ids when a refused bundle pauses the target (an update that does not name them)', () => {
    const keyId = 'c'.repeat(64);
    const d = mergeStatus({ ...rec, keyIds: [keyId] }, rec.sequence, { state: 'paused', message: 'refused' });
    assert.ok(d.write);
    assert.deepEqual(d.record.keyIds, [keyId]);
    assert.equal(d.record.bundleDigest, rec.bundleDigest);
  });

  it('refuses damaged data with MALFORMED', () => {
    assert.throws(() => statusFromData({ key_ids: '"sha256:x"' }), (e) => isRelayError(e, 'MALFORMED') && /key_ids/.test((e as Error).message));
    assert.throws(() => statusFromData({ key_ids: '[1]' }), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => statusFromData({ last_completed: JSON.stringify({ ...rec.lastCompleted, keyIds: 'x' }) }), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => statusFromData({ hot_update_status: 'exploded' }), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => statusFromData({ sequence: '-1' }), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => statusFromData({ inventory: '{' }), (e) => isRelayError(e, 'MALFORMED'));
    assert.throws(() => statusFromData({ inventory: '[{"kind":1}]' }), (e) => isRelayError(e, 'MALFORMED'));
  });

  it('never lets an older sequence overwrite a newer one', () => {
    const d = mergeStatus(rec, 6, { state: 'failed' });
    assert.equal(d.write, false);
    assert.equal((d as { reason: string }).reason, 'stale');
  });

  it('writes a newer or equal sequence, keeps fields it does not name, and counts updates', () => {
    const d = mergeStatus(rec, 8, { state: 'applying' });
    assert.ok(d.write);
    assert.equal(d.record.sequence, 8);
    assert.deepEqual(d.record.lastCompleted, rec.lastCompleted);
    assert.equal(d.record.updateCount, 4);
    const same = mergeStatus(rec, 7, { message: 'ok' });
    assert.equal(same.write, false);
    assert.equal((same as { reason: string }).reason, 'unchanged');
  });

  it('names the ConfigMap and parses applications, refusing bad names with CONFIG_INVALID', () => {
    assert.equal(statusConfigMapName('web'), 'rollout-relay-status-web');
    assert.deepEqual(parseApplication('shop/web'), { namespace: 'shop', name: 'web' });
    assert.throws(() => parseApplication('Shop/web'), (e) => isRelayError(e, 'CONFIG_INVALID'));
    assert.throws(() => statusConfigMapName('Web_1'), (e) => isRelayError(e, 'CONFIG_INVALID'));
  });
});
