import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { diffText, renderPreviewDiff } from '../../../src/apply/preview-diff.js';

const cm = (db: string, rv: string): KubernetesObject => ({
  apiVersion: 'v1', kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'shop', resourceVersion: rv, managedFields: [{ manager: 'rollout-relay' }], uid: 'u', creationTimestamp: new Date(0) },
  data: { DB_HOST: db },
} as KubernetesObject);

describe('apply: preview diff (rollout-relay diff)', () => {
  it('shows only what changes, without server bookkeeping or status', () => {
    const out = renderPreviewDiff([
      { object: 'ConfigMap shop/c', action: 'update', live: cm('a', '1'), after: cm('b', '2'), unchanged: false },
      { object: 'ConfigMap shop/same', action: 'update', live: cm('a', '1'), after: cm('a', '2'), unchanged: false },
      { object: 'ConfigMap shop/skipped', action: 'update', live: cm('a', '1'), after: cm('z', '1'), unchanged: true },
    ]);
    assert.match(out, /^--- live\/ConfigMap shop\/c\tlive\n\+\+\+ dr\/ConfigMap shop\/c\tafter apply\n/);
    assert.match(out, /^- {2}DB_HOST: a$/m);
    assert.match(out, /^\+ {2}DB_HOST: b$/m);
    assert.doesNotMatch(out, /shop\/same|shop\/skipped|resourceVersion|managedFields|uid/);
  });

  it('shows a new object in full and a pruned one by name; nothing at all when nothing changes', () => {
    const out = renderPreviewDiff([{ object: 'ConfigMap shop/c', action: 'create', after: cm('a', ''), unchanged: false }], ['Secret shop/old']);
    assert.match(out, /^--- \/dev\/null\tnew object\n/);
    assert.match(out, /^\+kind: ConfigMap$/m);
    assert.match(out, /^--- live\/Secret shop\/old\n\+\+\+ \/dev\/null\n@@ pruned/m);
    assert.equal(renderPreviewDiff([]), '');
    assert.equal(diffText(undefined), '');
  });
});
