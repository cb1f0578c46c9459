import assert from 'node:assert/strict';
import { checkEntryPath, checkRegularFile, EntryBudget } from '../../../src/bundle/entry-checks.js';
import { isRelayError, type RelayErrorCode } from '../../../src/errors.js';

function refuses(fn: () => void, code: RelayErrorCode): void {
  assert.throws(fn, (err: unknown) => isRelayError(err, code));
}

describe('bundle/entry-checks: the bounded entry checks shared by bundle and repository-archive readers', () => {
  it('checkEntryPath refuses traversal, absolute, drive-letter, backslash, control-character, empty and "." paths', () => {
    for (const p of ['', '../x', 'a/../../x', '/etc/passwd', 'C:/x', 'a\\b', 'a\u0001b', 'a//b', './a', 'a/./b', 'a/']) refuses(() => checkEntryPath(p), 'UNSAFE_ENTRY');
    checkEntryPath('manifests/0001-v1-ConfigMap-a.yaml');
    checkEntryPath('a..b/c.d');
  });

  it('checkRegularFile refuses links and other non-files, naming the kind and the rule', () => {
    assert.throws(() => checkRegularFile('x.yaml', false, 'symbolic link', 'bundles hold only regular files'), (err: unknown) => isRelayError(err, 'UNSAFE_ENTRY') && /symbolic link; bundles hold only regular files/.test((err as Error).message));
    checkRegularFile('x.yaml', true, 'file', 'unused');
  });

  it('EntryBudget: entry count, per-file cap (or a given cap), and bytes read together (TOO_LARGE)', () => {
    const b = new EntryBudget({ maxEntries: 2, maxFileBytes: 10, maxKeptBytes: 15 });
    b.countEntry();
    b.countEntry();
    refuses(() => b.countEntry(), 'TOO_LARGE');
    b.admitFile('a', 10);
    refuses(() => b.admitFile('b', 11), 'TOO_LARGE');
    refuses(() => b.admitFile('c', 6), 'TOO_LARGE');
    const uncapped = new EntryBudget({ maxEntries: 1, maxFileBytes: 10 });
    uncapped.admitFile('index.json', 100, 1000);
    uncapped.admitFile('b', 10);
    assert.equal(uncapped.keptBytes, 110);
    refuses(() => uncapped.admitFile('index.json', 1001, 1000), 'TOO_LARGE');
  });
});
