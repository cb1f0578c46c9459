import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadRelayConfig } from '../../../src/config/load.js';
import { REPO, tempDir } from '../../helpers/bundle-fixtures.js';

const require = createRequire(import.meta.url);
const GITLAB_CI_LOCAL = join(dirname(require.resolve('gitlab-ci-local/package.json')), 'dist', 'index.js');

/** Runs the real gitlab-ci-local (on this Node 24) in `cwd`. */
function gcl(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GITLAB_CI_LOCAL, '--no-color', ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('GitLab: the project pipeline and the promote-dr component, as gitlab-ci-local reads them', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => void };
  before(() => {
    dir = tempDir('rr-gitlab-config-');
    for (const p of ['.gitlab-ci.yml', 'templates', 'examples']) cpSync(join(REPO, p), join(dir.path, p), { recursive: true });
    mkdirSync(join(dir.path, 'keys/test'), { recursive: true });
    cpSync(join(REPO, 'keys/test/test-ecdsa.pub'), join(dir.path, 'keys/test/test-ecdsa.pub'));
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir.path });
    execFileSync('git', ['add', '-A'], { cwd: dir.path });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-q', '--allow-empty', '-m', 'x'], { cwd: dir.path });
  });
  after(() => dir.cleanup());

  it('keeps the test job; the demo stage joins only when KUBECONFIG and SIGNING_KEY are configured', async () => {
    const plain = await gcl(dir.path, '--list-json');
    assert.equal(plain.code, 0, plain.stderr);
    const names = (out: string) => (JSON.parse(out) as { name: string; when: string }[]).filter((j) => j.when !== 'never').map((j) => j.name);
    assert.deepEqual(names(plain.stdout), ['test']);
    const demo = await gcl(dir.path, '--list-json', '--variable', 'KUBECONFIG=/k', '--variable', 'SIGNING_KEY=/s');
    assert.deepEqual(names(demo.stdout).sort(), ['demo-bundle', 'promote-dr', 'sla-gate', 'test', 'verify-bundle']);
  });

  it('fills the component inputs: the verified file is the applied file, the SLA is the deadline', async () => {
    const r = await gcl(dir.path, '--preview');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rollout-relay bundle verify --bundle "\$RR_BUNDLE" --policy "examples\/gitlab\/trust-policy.yaml" --target "\$target"/);
    assert.match(r.stdout, /rollout-relay promote "\$RR_APPLICATION" --config "\$RR_CONFIG" --bundle "\$RR_BUNDLE" --expect-digest "\$BUNDLE_DIGEST"/);
    assert.match(r.stdout, /--wait --timeout "100s"/);
    assert.match(r.stdout, /RR_BUNDLE: checkout.bundle.tar/);
    assert.match(r.stdout, /rollout-relay hooks run "\$RR_APPLICATION" --config "\$RR_CONFIG" --target "\$target" "\$@"/);
  });

  it('refuses an application input that is not NAMESPACE/NAME', async () => {
    writeFileSync(join(dir.path, 'bad.yml'), 'include:\n  - local: templates/promote-dr.yml\n    inputs: {application: "shop; rm -rf /", targets: shenzhen, image: x}\n');
    execFileSync('git', ['add', 'bad.yml'], { cwd: dir.path });
    const r = await gcl(dir.path, '--file', 'bad.yml', '--list');
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /`application` input: .* does not match required regex/);
  });

  it('the example RelayConfig is valid', () => {
    const c = loadRelayConfig(join(REPO, 'examples/gitlab/relay.yaml'));
    assert.deepEqual(c.targets.map((t) => t.name), ['shenzhen']);
    assert.equal(c.timeouts.promotionMs, 100_000);
  });
});
