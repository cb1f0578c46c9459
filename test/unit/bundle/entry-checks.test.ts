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

  it('checkEntryPath accepts exactly what the written-out rules accept (its one-regex fast path never lets more through)', () => {
    // The rules as a reader would state them, independent of how checkEntryPath is written.
    const unsafe = (p: string): boolean =>
      // eslint-disable-next-line no-control-regex
      p === '' || p.startsWith('/') || /^[A-Za-z]:/.test(p) || /[\\\u0000-\u001f\u007f]/.test(p) || p.split('/').some((s) => s === '' || s === '.' || s === '..');
    const alphabet = ['a', 'Z', '0', '.', '..', '/', '-', '_', '~', ':', '\\', '\u0001', ' ', 'é', '@', '+', '=', ','];
    let seed = 7;
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 20_000; i++) {
      const p = Array.from({ length: 1 + next(8) }, () => alphabet[next(alphabet.length)]).join('');
      let refused = false;
      try {
        checkEntryPath(p);
      } catch (err) {
        assert.ok(isRelayError(err, 'UNSAFE_ENTRY'), `${JSON.stringify(p)}: ${String(err)}`);
        refused = true;
      }
      assert.equal(refused, unsafe(p), `checkEntryPath(${JSON.stringify(p)})`);
    }
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
