import assert from 'node:assert/strict';
import { parseBundleManifest } from '../../../src/bundle/index.js';
import { expectCode } from '../../helpers/bundle-fixtures.js';

describe('bundle manifest decoding', () => {
  it('refuses a manifest that is not valid UTF-8 as MALFORMED, and the shared decoder still reads the next one', async () => {
    // A truncated two-byte sequence at the very end: a decoder that kept state would carry it into the next file.
    await expectCode(() => parseBundleManifest(Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\xc3', 'latin1'), 'a.yaml'), 'MALFORMED');
    await expectCode(() => parseBundleManifest(Buffer.from([0xff, 0x0a]), 'b.yaml'), 'MALFORMED');
    const ok = parseBundleManifest(Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: é\n', 'utf8'), 'c.yaml');
    assert.deepEqual(ok, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'é' } });
  });
});
