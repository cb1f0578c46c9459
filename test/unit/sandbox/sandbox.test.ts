import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_STATE_FILE_BYTES } from '../../../src/bounded-file.js';
import { readState } from '../../../src/sandbox/sandbox.js';
import { expectCode, tempDir } from '../../helpers/bundle-fixtures.js';

describe('sandbox: state.json is read bounded', () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.cleanup());

  it('no state, or a damaged or older one: no sandbox, as before', () => {
    assert.equal(readState(dir.path), undefined);
    writeFileSync(join(dir.path, 'state.json'), '{nope');
    assert.equal(readState(dir.path), undefined);
    writeFileSync(join(dir.path, 'state.json'), '{"version":0}');
    assert.equal(readState(dir.path), undefined);
  });

  it('a state.json that is not a regular file (a FIFO) is refused with SANDBOX_FAILED saying what to do, without blocking', async () => {
    execFileSync('mkfifo', [join(dir.path, 'state.json')]);
    const err = await expectCode(() => readState(dir.path), 'SANDBOX_FAILED');
    assert.match(err.message, /^sandbox state .*state\.json is not a regular file; rollout-relay did not write it: stop any sandbox processes still running, delete .* and run rollout-relay sandbox up again$/);
  });

  it('a state.json above MAX_STATE_FILE_BYTES is refused with SANDBOX_FAILED before it is read', async () => {
    const path = join(dir.path, 'state.json');
    closeSync(openSync(path, 'w'));
    truncateSync(path, MAX_STATE_FILE_BYTES + 1); // sparse: takes no disk space
    const err = await expectCode(() => readState(dir.path), 'SANDBOX_FAILED');
    assert.match(err.message, new RegExp(`is ${MAX_STATE_FILE_BYTES + 1} bytes, above the ${MAX_STATE_FILE_BYTES}-byte limit for a sandbox state file; rollout-relay did not write it`));
  });
});
