import assert from 'node:assert/strict';
import { sameStoredObject } from '../../../src/apply/applier.js';

describe('apply: sameStoredObject (skip writes a dry run shows to be no-ops)', () => {
  const live = {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: 'a', namespace: 'n', resourceVersion: '10',
      managedFields: [{ manager: 'rollout-relay', operation: 'Apply', time: new Date('2026-01-01T00:00:00Z'), fieldsV1: { 'f:data': { 'f:k': {} } } }],
    },
    data: { k: 'v' },
  };

  it('treats a dry run that only moved resourceVersion or field times as unchanged', () => {
    const dry = structuredClone(live);
    dry.metadata.resourceVersion = '11';
    dry.metadata.managedFields[0]!.time = new Date('2026-02-01T00:00:00Z');
    assert.equal(sameStoredObject(live, dry), true);
  });

  it('sees a changed value', () => {
    const dry = structuredClone(live);
    dry.data.k = 'w';
    assert.equal(sameStoredObject(live, dry), false);
  });

  it('sees a change of field ownership alone (we would become a co-owner)', () => {
    const dry = structuredClone(live);
    dry.metadata.managedFields.push({ manager: 'other', operation: 'Apply', time: new Date(), fieldsV1: { 'f:data': { 'f:k': {} } } });
    assert.equal(sameStoredObject(live, dry), false);
  });
});
