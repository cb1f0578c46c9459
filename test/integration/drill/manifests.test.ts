import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createDrillNamespaces } from './support.js';
import { deleteNamespaceAndWait, sandbox } from '../support/sandbox.js';

const run = promisify(execFile);
const DRILL = new URL('../../../manifests/drill/', import.meta.url).pathname;

/** The drill CronJob example is accepted by the real primary API server with strict field validation. */
describe('manifests: drill CronJob, kubectl apply -k --dry-run=server', function () {
  this.timeout(120_000);
  const created: string[] = [];

  before(async () => {
    created.push(...(await createDrillNamespaces()));
  });

  after(async () => {
    for (const name of created) await deleteNamespaceAndWait('primary', name);
  });

  it('every object of manifests/drill is valid', async () => {
    const { stdout } = await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', 'primary', 'apply', '-k', DRILL, '--dry-run=server', '--validate=strict']);
    for (const obj of ['cronjob.batch/rollout-relay-drill', 'configmap/rollout-relay-drill', 'serviceaccount/rollout-relay-drill', 'clusterrole.rbac.authorization.k8s.io/rollout-relay-drill-scale', 'clusterrole.rbac.authorization.k8s.io/rollout-relay-drill-nodes-read', 'role.rbac.authorization.k8s.io/rollout-relay-drill-signing']) {
      assert.match(stdout, new RegExp(`^${obj.replace(/\./g, '\\.')} created \\(server dry run\\)$`, 'm'));
    }
  });

  it('the optional RBAC of the cordon cut is valid', async () => {
    const { stdout } = await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', 'primary', 'apply', '-f', `${DRILL}rbac-cordon.yaml`, '--dry-run=server', '--validate=strict']);
    assert.match(stdout, /^clusterrole\.rbac\.authorization\.k8s\.io\/rollout-relay-drill-cordon created \(server dry run\)$/m);
    assert.match(stdout, /^clusterrolebinding\.rbac\.authorization\.k8s\.io\/rollout-relay-drill-cordon created \(server dry run\)$/m);
  });
});
