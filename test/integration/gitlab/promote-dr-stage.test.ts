import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { serverSideApply } from '../../../src/sandbox/cluster.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { ApplicationExporter } from '../../../src/export/index.js';
import { judgeCompletion } from '../../../src/promote/completion.js';
import { StatusWriter } from '../../../src/status/index.js';
import { generateSigningKeyPair, privateKeyPem, publicKeyPem } from '../../../src/signing/index.js';
import { Exporter, Prometheus } from '../support/peers.js';
import { kubeConfig, sandbox } from '../support/sandbox.js';
import { GitLabProject, type PipelineRun } from './support.js';

/**
 * The GitLab stage (templates/promote-dr.yml) run by the real gitlab-ci-local in shell-executor
 * mode against the sandbox's two clusters: a passing pipeline, a tampered bundle and an SLA breach.
 */
const APP = 'checkout';
const INSTANCE = 'app.kubernetes.io/instance';

/** `minReadySeconds` makes DR need at least that long to become Healthy (an SLA that must be breached on any machine). */
function appObjects(ns: string, image: string, minReadySeconds = 0): KubernetesObject[] {
  const sel = { app: APP };
  const labels = { [INSTANCE]: APP };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${APP}-config`, namespace: ns, labels }, data: { TIMEOUT: '3s' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: APP, namespace: ns, labels }, spec: { selector: sel, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: APP, namespace: ns, labels },
      spec: {
        replicas: 2, selector: { matchLabels: sel }, ...(minReadySeconds ? { minReadySeconds } : {}),
        template: { metadata: { labels: sel }, spec: { containers: [{ name: APP, image, ports: [{ containerPort: 8080 }] }] } },
        strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '1s' } }] } },
      },
    },
  ] as KubernetesObject[];
}

/** Applies the application to primary and waits until its Rollout completed there; returns the pod-template-hash. */
async function releaseInPrimary(ns: string, image: string, minReadySeconds = 0): Promise<string> {
  await serverSideApply(kubeConfig('primary'), appObjects(ns, image, minReadySeconds).slice(1));
  const exporter = new ApplicationExporter(kubeConfig('primary'));
  let hash = '';
  await waitFor(`primary: Rollout ${ns}/${APP} at ${image} complete`, async () => {
    const w = await exporter.readWorkload({ kind: 'Rollout', namespace: ns, name: APP });
    const img = (w.spec as { template?: { spec?: { containers?: { image?: string }[] } } }).template?.spec?.containers?.[0]?.image;
    const c = judgeCompletion(w as never, '');
    hash = c.podTemplateHash;
    return img === image && c.complete;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  return hash;
}

function pipelineYaml(ns: string, slaSeconds: number): string {
  return `# rollout-relay demo pipeline: build and sign a bundle, then the reusable DR stage.
stages: [build, promote-dr]

include:
  - local: templates/promote-dr.yml
    inputs:
      application: ${ns}/${APP}
      targets: shenzhen
      sla_seconds: ${slaSeconds}
      gate_hooks: errors traffic
      image: registry.example/rollout-relay:ci

build-bundle:
  stage: build
  script:
    - rollout-relay bundle create --from deploy --out app.bundle.tar --source-cluster shanghai --namespace ${ns} --name ${APP} --kind Rollout --target shenzhen
    - rollout-relay bundle sign --bundle app.bundle.tar --key "$SIGNING_KEY"
    # A stand-in for an artifact store that changed the file after signing.
    - if [ -n "\${TAMPER:-}" ]; then printf 'tampered' >> app.bundle.tar; fi
  artifacts:
    paths: [app.bundle.tar, app.bundle.tar.sig.json]
`;
}

function readJUnit(xml: string | undefined): { tests: number; failures: number } {
  assert.ok(xml, 'JUnit report kept as an artifact');
  const m = /<testsuite [^>]*tests="(\d+)" failures="(\d+)"/.exec(xml);
  assert.ok(m, `not a JUnit document: ${xml.slice(0, 200)}`);
  return { tests: Number(m[1]), failures: Number(m[2]) };
}

describe('GitLab stage: templates/promote-dr.yml run by the real gitlab-ci-local against the sandbox', function () {
  this.timeout(600_000);
  const ns = `rr-gitlab-${randomBytes(3).toString('hex')}`;
  const secretKey = generateSigningKeyPair('ecdsa-p256');
  let project: GitLabProject;
  let exporter: Exporter;
  let prom: Prometheus;
  let hashV1: string;

  before(async () => {
    await kubeConfig('primary').makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: ns, labels: { 'rollout-relay.io/test': 'true' } } } });
    hashV1 = await releaseInPrimary(ns, 'registry.example/checkout:1');
    // DR traffic of the new version, scraped by a real Prometheus: the gates' data.
    exporter = await Exporter.start({ [hashV1]: { rps: 40, errorRatio: 0 } });
    prom = await Prometheus.start([exporter.target]);

    project = new GitLabProject();
    project.copyFromRepo('templates/promote-dr.yml');
    project.write('deploy/app.yaml', appObjects(ns, 'registry.example/checkout:1').map((o) => stringify(o)).join('---\n'));
    project.write('keys/release.pub', publicKeyPem(secretKey.publicKey));
    project.write('trust-policy.yaml', stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1,
      keys: [{ name: 'ci-release', publicKey: 'keys/release.pub', sources: ['shanghai'], targets: ['shenzhen'] }],
    }));
    const errors = `sum(rate(http_requests_total{code=~"5..",version="{{podTemplateHash}}"}[30s])) / sum(rate(http_requests_total{version="{{podTemplateHash}}"}[30s]))`;
    project.write('relay.yaml', stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig',
      source: { cluster: 'shanghai', context: 'primary' },
      // Only `promote` without --bundle signs; this stage applies the bundle signed in build-bundle.
      signing: { keys: [{ secret: `${ns}/release-key`, key: 'tls.key' }] },
      trustPolicy: 'trust-policy.yaml',
      targets: [{ name: 'shenzhen', context: 'dr' }],
      hooks: [
        { name: 'errors', type: 'prometheus', url: prom.url, query: errors, pass: '< 0.005', noData: 'fail', timeout: '30s' },
        { name: 'traffic', type: 'prometheus', url: prom.url, query: `sum(rate(http_requests_total{version="{{podTemplateHash}}"}[30s]))`, pass: '> 1', timeout: '30s' },
      ],
      timeouts: { promotion: '100s' },
    }));
    project.variables({
      KUBECONFIG: { value: readFileSync(sandbox().kubeconfig, 'utf8'), file: true },
      SIGNING_KEY: { value: privateKeyPem(secretKey.privateKey), file: true },
    });
    await prom.waitScraped(3);
  });

  after(async () => {
    await prom?.stop();
    await exporter?.stop();
    project?.cleanup();
    for (const ctx of ['primary', 'dr'] as const) {
      await kubeConfig(ctx).makeApiClient(CoreV1Api).deleteNamespace({ name: ns, propagationPolicy: 'Background' }).catch(() => undefined);
    }
  });

  const drStatus = async () => (await new StatusWriter(kubeConfig('dr'), `${ns}/${APP}`).read())?.record;
  const noSecrets = (run: PipelineRun) => {
    const all = `${run.output}${run.jobs.map((j) => run.log(j)).join('')}`;
    assert.doesNotMatch(all, /BEGIN PRIVATE KEY|client-key-data|certificate-authority-data/, 'no secret in any job log');
  };

  it('passing pipeline: verify-bundle → promote-dr → sla-gate; dotenv and JUnit artifacts read back', async () => {
    project.write('.gitlab-ci.yml', pipelineYaml(ns, 100)).commit('pipeline with the DR stage');
    const run = await project.run();
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(run.jobs.sort(), ['build-bundle', 'promote-dr', 'sla-gate', 'verify-bundle']);
    noSecrets(run);

    const verified = run.dotenv('verify-bundle');
    assert.match(verified.BUNDLE_DIGEST ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(readJUnit(run.artifact('verify-bundle', 'verify-bundle-shenzhen.junit.xml')), { tests: 1, failures: 0 });

    const promoted = run.dotenv('promote-dr');
    assert.equal(promoted.HOT_UPDATE_STATUS, 'completed');
    assert.equal(promoted.HOT_UPDATE_STATUS_SHENZHEN, 'completed');
    assert.equal(promoted.BUNDLE_DIGEST, verified.BUNDLE_DIGEST, 'the bundle applied is the bundle verified');
    // A fast machine may round a promotion down to 0.0 s: the value must be a measured number within the SLA.
    assert.match(promoted.PROMOTION_SECONDS ?? '', /^\d+(\.\d+)?$/);
    const seconds = Number(promoted.PROMOTION_SECONDS);
    assert.ok(seconds >= 0 && seconds <= 100, `PROMOTION_SECONDS=${promoted.PROMOTION_SECONDS} within the 100 s SLA`);
    assert.deepEqual(readJUnit(run.artifact('promote-dr', 'promote-dr.junit.xml')), { tests: 2, failures: 0 });

    const gate = run.dotenv('sla-gate');
    assert.equal(gate.HOOKS_PASSED, 'true');
    assert.equal(gate.HOT_UPDATE_STATUS_SHENZHEN, 'completed');
    assert.equal(gate.BUNDLE_DIGEST, verified.BUNDLE_DIGEST);
    assert.deepEqual(readJUnit(run.artifact('sla-gate', 'sla-gate-shenzhen.junit.xml')), { tests: 2, failures: 0 });

    const st = await drStatus();
    assert.equal(st?.state, 'completed');
    assert.equal(st?.bundleDigest, verified.BUNDLE_DIGEST);
    assert.equal(st?.podTemplateHash, hashV1);
  });

  it('tampered bundle: verify-bundle fails with DIGEST_MISMATCH, promote-dr never runs, DR untouched', async () => {
    const before = await drStatus();
    const run = await project.run(['--variable', 'TAMPER=1']);
    assert.notEqual(run.code, 0);
    assert.ok(run.jobs.includes('verify-bundle'));
    assert.ok(!run.jobs.includes('promote-dr'), `promote-dr must not run; ran: ${run.jobs.join(', ')}`);
    assert.ok(!run.jobs.includes('sla-gate'));
    assert.match(run.log('verify-bundle'), /error DIGEST_MISMATCH: /);
    const report = run.dotenv('verify-bundle');
    assert.equal(report.VERIFY_ERROR_CODE, 'DIGEST_MISMATCH');
    assert.equal(report.HOT_UPDATE_STATUS, 'paused');
    assert.deepEqual(readJUnit(run.artifact('verify-bundle', 'verify-bundle-shenzhen.junit.xml')), { tests: 1, failures: 1 });
    noSecrets(run);
    const after = await drStatus();
    assert.equal(after?.bundleDigest, before?.bundleDigest);
    assert.equal(after?.sequence, before?.sequence);
  });

  it('SLA breach: a new revision against a 1 s SLA fails promote-dr with the measured seconds; sla-gate never runs', async () => {
    // Pods of revision 2 count as available only 3 s after they are ready: DR cannot be done within 1 s.
    await releaseInPrimary(ns, 'registry.example/checkout:2', 3);
    project.write('deploy/app.yaml', appObjects(ns, 'registry.example/checkout:2', 3).map((o) => stringify(o)).join('---\n'));
    project.write('.gitlab-ci.yml', pipelineYaml(ns, 1)).commit('checkout 2 with a 1 s SLA');
    const run = await project.run();
    assert.notEqual(run.code, 0);
    assert.ok(run.jobs.includes('promote-dr'));
    assert.ok(!run.jobs.includes('sla-gate'));
    const log = run.log('promote-dr');
    assert.match(log, /error DEADLINE_EXCEEDED: SLA breached: measured \d+\.\d s against a 1 s deadline/);
    const report = run.dotenv('promote-dr');
    assert.notEqual(report.HOT_UPDATE_STATUS, 'completed');
    assert.ok(Number(report.PROMOTION_SECONDS) >= 1, `PROMOTION_SECONDS=${report.PROMOTION_SECONDS}`);
    assert.equal(report.PROMOTION_SLA_SECONDS, '1');
    const junit = run.artifact('promote-dr', 'promote-dr.junit.xml');
    assert.match(junit ?? '', /<failure type="SLA_BREACHED" message="SLA breached: measured \d+\.\d s, SLA 1 s"/);
    noSecrets(run);
  });
});
