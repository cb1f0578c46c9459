import assert from 'node:assert/strict';
import { ParsedManifestCache } from '../../../src/bundle/parsed-cache.js';
import { readBundleBytes, type KubeObject } from '../../../src/bundle/index.js';
import { sampleBundle } from '../../helpers/bundle-fixtures.js';

const cm = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'a' }, data: { k: 'v' } });

describe('bundle: parsed manifests cached by their digest', () => {
  it('a hit is an equal copy: changing what a caller got never changes the cache', () => {
    const cache = new ParsedManifestCache(1000);
    const original = cm('one');
    cache.set('d1', original, 100);
    original.metadata.name = 'changed after set';
    const a = cache.get('d1')!;
    assert.equal(a.metadata.name, 'one');
    a.metadata.name = 'changed after get';
    assert.deepEqual(cache.get('d1'), cm('one'));
    assert.equal(cache.get('unknown'), undefined);
  });

  it('stays within its byte bound, least recently used first out', () => {
    const cache = new ParsedManifestCache(250);
    cache.set('a', cm('a'), 100);
    cache.set('b', cm('b'), 100);
    cache.get('a'); // a is now the most recently used
    cache.set('c', cm('c'), 100);
    assert.equal(cache.get('b'), undefined, 'b was evicted');
    assert.ok(cache.get('a'));
    assert.ok(cache.get('c'));
    cache.set('huge', cm('huge'), 251);
    assert.equal(cache.get('huge'), undefined, 'larger than the whole bound: not kept');
  });

  it('reading the same bundle twice returns equal objects that do not share state', async () => {
    const b = sampleBundle();
    const first = await readBundleBytes(b.bytes);
    first.objects[0]!.metadata.name = 'mutated by a caller';
    const second = await readBundleBytes(b.bytes);
    assert.deepEqual(second.objects, b.objects);
  });
});
