import assert from 'node:assert/strict';
import { overridesSummary } from '../../../src/cli/commands/status.js';
import { isRelayError } from '../../../src/errors.js';
import { emptyStatus, statusFromData, statusToData, type StatusRecord } from '../../../src/status/model.js';

const record = (): StatusRecord => ({
  ...emptyStatus(), state: 'completed', sequence: 3,
  overrides: {
    digest: `sha256:${'a'.repeat(64)}`,
    applied: [{ name: 'dr-host', type: 'jsonPatch', objects: ['networking.k8s.io/Ingress shop/web'] }],
    leftOut: [{ object: 'apps/Deployment shop/web', pointer: '/spec/replicas', reason: 'hpa shop/web' }],
  },
});

describe('status: per-target overrides', () => {
  it('round-trips the overrides key; a record without overrides has no key', () => {
    const r = record();
    const data = statusToData(r);
    assert.equal(JSON.parse(data.overrides!).digest, r.overrides!.digest);
    assert.deepEqual(statusFromData(data).overrides, r.overrides);
    assert.equal(statusToData(emptyStatus()).overrides, undefined);
    assert.equal(statusFromData(statusToData(emptyStatus())).overrides, undefined);
    assert.ok((() => {
      try {
        statusFromData({ overrides: '{"digest":1}' });
      } catch (err) {
        return isRelayError(err, 'MALFORMED');
      }
      return false;
    })());
  });

  it('status prints the overrides and the fields left out per application, escaped', () => {
    const text = overridesSummary([{ namespace: 'shop', name: 'web', record: record() }, { namespace: 'shop', name: 'plain', record: emptyStatus() }]);
    assert.equal(text, [
      'shop/web: overrides sha256:aaaaaaaaaaaa',
      '  dr-host (jsonPatch): networking.k8s.io/Ingress shop/web',
      '  left out /spec/replicas of apps/Deployment shop/web (hpa shop/web)',
    ].join('\n'));
    const evil = record();
    evil.overrides!.applied[0]!.name = 'x\u001b[31m';
    assert.ok(!overridesSummary([{ namespace: 'shop', name: 'web', record: evil }]).includes('\u001b'));
  });
});
