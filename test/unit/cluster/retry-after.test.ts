import assert from 'node:assert/strict';
import { retryAfterMs } from '../../../src/cluster/untyped-object-api.js';

describe('cluster: waiting after a 429 from the API server', () => {
  it('follows Retry-After in seconds, defaults to about 1 s, caps at about 10 s', () => {
    for (let i = 0; i < 50; i++) {
      const two = retryAfterMs({ 'retry-after': '2' }, 1);
      assert.ok(two >= 1500 && two <= 2600, `Retry-After 2 → ${two} ms`);
      const none = retryAfterMs({}, 1);
      assert.ok(none >= 750 && none <= 1300, `no Retry-After → ${none} ms`);
      const huge = retryAfterMs({ 'retry-after': '3600' }, 9);
      assert.ok(huge <= 12_600, `capped → ${huge} ms`);
      const garbage = retryAfterMs({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }, 1);
      assert.ok(garbage <= 1300, `HTTP-date form falls back to 1 s → ${garbage} ms`);
    }
  });
});
