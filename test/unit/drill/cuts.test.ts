import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_STATE_FILE_BYTES } from '../../../src/bounded-file.js';
import { CUT_RECORD, recoverSandboxCut } from '../../../src/drill/cuts.js';
import { expectCode, tempDir } from '../../helpers/bundle-fixtures.js';

describe('drill/cuts: the sandbox cut record is read bounded', () => {
  let dir: { path: string; cleanup: () => void };
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.cleanup());

  it('no record: nothing to recover', async () => {
    assert.equal(await recoverSandboxCut(dir.path, () => undefined), false);
  });

  it('a record that is not a regular file (a FIFO) is refused with CUT_FAILED saying to delete it, without blocking', async () => {
    const path = join(dir.path, CUT_RECORD);
    execFileSync('mkfifo', [path]);
    const err = await expectCode(() => recoverSandboxCut(dir.path, () => undefined), 'CUT_FAILED');
    assert.match(err.message, /^drill cut record .*drill-cut\.json is not a regular file; a drill did not write it: delete it, then check the sandbox \(rollout-relay sandbox status --dir /);
  });

  it('a record above MAX_STATE_FILE_BYTES is refused with CUT_FAILED before it is read', async () => {
    const path = join(dir.path, CUT_RECORD);
    closeSync(openSync(path, 'w'));
    truncateSync(path, MAX_STATE_FILE_BYTES + 1); // sparse: takes no disk space
    const err = await expectCode(() => recoverSandboxCut(dir.path, () => undefined), 'CUT_FAILED');
    assert.match(err.message, new RegExp(`is ${MAX_STATE_FILE_BYTES + 1} bytes, above the ${MAX_STATE_FILE_BYTES}-byte limit for a drill cut record file; a drill did not write it: delete it`));
  });

  it('a damaged record (not JSON) is still no record, as before', async () => {
    writeFileSync(join(dir.path, CUT_RECORD), '{nope');
    assert.equal(await recoverSandboxCut(dir.path, () => undefined), false);
  });
});
