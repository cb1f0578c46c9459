import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.js';

describe('cli: controller', () => {
  it('refuses to start on CONFIG_INVALID with exit 1, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rr-ctl-cli-'));
    const config = join(dir, 'relay.yaml');
    writeFileSync(config, 'apiVersion: rollout-relay.io/v1\nkind: RelayConfig\nsource: {cluster: shanghai}\nwatch: {selectr: x}\n');
    const r = await runCli(['controller', '--config', config]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error CONFIG_INVALID: /m);
    assert.match(r.stderr, /watch\.selectr: unknown field/);
  });

  it('usage error without --config: exit 2', async () => {
    const r = await runCli(['controller']);
    assert.equal(r.code, 2);
  });
});
