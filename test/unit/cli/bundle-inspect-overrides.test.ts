import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeBundleFile } from '../../../src/bundle/index.js';
import { sampleMeta, sampleObjects, tempDir } from '../../helpers/bundle-fixtures.js';
import { runCliInProcess } from './run-cli.js';

describe('cli: bundle inspect shows per-target overrides', () => {
  it('lists each target\'s overrides file, patches and ignored fields (text and --json)', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'b.bundle.tar');
      await writeBundleFile(path, sampleObjects(), sampleMeta({
        differences: [{
          target: 'shenzhen',
          overrides: [
            { name: 'db', select: { kind: 'ConfigMap', name: 'web-*' }, mergePatch: { data: { db: 'dr' } } },
            { select: { group: 'apps', kind: 'Deployment' }, jsonPatch: [{ op: 'replace', path: '/spec/replicas', value: 1 }] },
          ],
          ignoreFields: [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/replicas'] }],
        }],
      }));
      const text = await runCliInProcess('bundle', 'inspect', path);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^overrides {3}1 target$/m);
      assert.match(text.stdout, /^ {2}shenzhen {2}[0-9a-f]{16} {2}overrides\/shenzhen\.json$/m);
      assert.match(text.stdout, /^ {4}db: merge patch on kind=ConfigMap name=web-\*$/m);
      assert.match(text.stdout, /^ {4}overrides\[1\]: JSON patch \(1 op\) on group=apps kind=Deployment$/m);
      assert.match(text.stdout, /^ {4}ignore \/spec\/replicas of group=apps kind=Deployment$/m);
      const json = await runCliInProcess('bundle', 'inspect', path, '--json');
      const parsed = JSON.parse(json.stdout) as { formatVersion: string; overrides: { target: string; overrides: unknown[] }[] };
      assert.equal(parsed.formatVersion, '1.1');
      assert.deepEqual(parsed.overrides.map((o) => [o.target, o.overrides.length]), [['shenzhen', 2]]);
    } finally {
      dir.cleanup();
    }
  });

  it('bundle create --overrides signs in the targets\' differences from a RelayConfig; a bad one is CONFIG_INVALID naming it', async () => {
    const dir = tempDir();
    try {
      const src = join(dir.path, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'all.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: sampleObjects() }));
      const relay = join(dir.path, 'relay.yaml');
      const write = (overrides: unknown[]) => writeFileSync(relay, stringify({ apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig', targets: [{ name: 'shenzhen', context: 'dr', overrides, ignoreFields: [{ kind: 'Deployment', pointers: ['/spec/replicas'] }] }] }));
      write([{ name: 'db', select: { kind: 'ConfigMap' }, mergePatch: { data: { db: 'dr' } } }]);
      const out = join(dir.path, 'b.bundle.tar');
      const created = await runCliInProcess('bundle', 'create', '--from', src, '--out', out, '--namespace', 'shop', '--name', 'web', '--sequence', '1', '--overrides', relay);
      assert.equal(created.code, 0, created.stderr);
      const inspected = await runCliInProcess('bundle', 'inspect', out);
      assert.match(inspected.stdout, /^ {4}db: merge patch on kind=ConfigMap$/m);
      write([{ name: 'typo', select: { kind: 'Ingres' }, mergePatch: { a: 1 } }]);
      const bad = await runCliInProcess('bundle', 'create', '--from', src, '--out', join(dir.path, 'c.bundle.tar'), '--namespace', 'shop', '--name', 'web', '--overrides', relay);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /CONFIG_INVALID/);
      assert.match(bad.stderr, /override "typo": its selector matches no object/);
    } finally {
      dir.cleanup();
    }
  });
});
