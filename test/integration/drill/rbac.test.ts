import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { apiStatusCode } from '../../../src/cluster/api-errors.js';
import { UntypedObjectApi } from '../../../src/cluster/untyped-object-api.js';
import { loadRelayConfig } from '../../../src/config/load.js';
import { CordonCut, recoverCordonCut } from '../../../src/drill/cut-cordon.js';
import { CORDON_ANNOTATION } from '../../../src/drill/cut-marker.js';
import { createProgress } from '../../../src/drill/progress.js';
import { recoverLeftovers } from '../../../src/drill/recover.js';
import { DrillRunner } from '../../../src/drill/runner.js';
import { loadScenario } from '../../../src/drill/scenario.js';
import { RelayError, isRelayError } from '../../../src/errors.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { deleteNamespaceAndWait, kubeConfig, sandbox } from '../support/sandbox.js';
import { DrillSetup, createDrillNamespaces } from './support.js';

const run = promisify(execFile);
const ROOT = new URL('../../../', import.meta.url).pathname;
const PRIMARY_RBAC = join(ROOT, 'manifests/overlays/primary/rbac.yaml');
const DRILL_RBAC = join(ROOT, 'manifests/drill/rbac.yaml');
const CORDON_RBAC = join(ROOT, 'manifests/drill/rbac-cordon.yaml');
const kubectl = async (args: string[]) => (await run(sandbox().binaries.kubectl, ['--kubeconfig', sandbox().kubeconfig, '--context', 'primary', ...args])).stdout;

interface Node {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean };
}

/**
 * The recovery of a killed drill's cut as the drill's own ServiceAccount, with exactly the RBAC of
 * manifests/drill (a token, nothing more granted): it sees a node left cordoned; without
 * rbac-cordon.yaml it may not uncordon it and says how to by hand (FORBIDDEN); with it, it does; and
 * without list on nodes it refuses to start rather than miss a leftover cordon.
 */
describe('drill: recovering a killed drill\'s cut with the drill\'s own RBAC (manifests/drill)', function () {
  this.timeout(240_000);
  let setup: DrillSetup;
  const created: string[] = [];
  let sa: KubeConfig;
  const node = async () => (await UntypedObjectApi.forKubeConfig(kubeConfig('primary')).getPath('/api/v1/nodes/primary-node-2')) as Node;
  /** What a drill killed after its cordon leaves (made by this process, so it counts as left behind for a drill run here). */
  const leftCordon = () => new CordonCut('topology.kubernetes.io/zone=shanghai-c', { primary: kubeConfig('primary'), workloads: [], log: () => undefined, workloadState: () => Promise.resolve({ complete: true, reason: '' }) }).apply();
  /** The preflight of a scale-to-zero drill run as the ServiceAccount: it refuses before anything of its own. */
  const drillAsSa = async () => {
    const scenario = loadScenario(setup.scenario('as-sa', { applications: ['rr-drill-rbac-none/web'], cut: { type: 'scale-to-zero' } }));
    const progress = createProgress({ slaMs: scenario.slaMs, steps: scenario.steps, tty: false, write: () => undefined });
    try {
      return await new DrillRunner({ scenario, config: loadRelayConfig(scenario.config), primary: sa, progress }).run();
    } finally {
      progress.close();
    }
  };
  const saMay = async (path: string) => {
    try {
      await UntypedObjectApi.forKubeConfig(sa).getPath(path);
      return true;
    } catch (err) {
      if (apiStatusCode(err) === 403) return false;
      throw err;
    }
  };

  before(async () => {
    setup = new DrillSetup();
    created.push(...(await createDrillNamespaces()));
    await kubectl(['apply', '-f', PRIMARY_RBAC]);
    await kubectl(['apply', '-f', DRILL_RBAC]);
    const token = (await kubectl(['-n', 'rollout-relay', 'create', 'token', 'rollout-relay-drill', '--duration=1h'])).trim();
    const admin = new KubeConfig();
    admin.loadFromFile(sandbox().kubeconfig);
    sa = new KubeConfig();
    sa.loadFromOptions({
      clusters: admin.getClusters(),
      users: [{ name: 'drill-sa', token }],
      contexts: [{ name: 'drill-sa', cluster: admin.getContextObject('primary')!.cluster, user: 'drill-sa' }],
      currentContext: 'drill-sa',
    });
    writeFileSync(join(setup.dir, 'sa.kubeconfig'), sa.exportConfig(), { mode: 0o600 });
    await waitFor('the drill ServiceAccount may list nodes', () => saMay('/api/v1/nodes'), { timeoutMs: 30_000, intervalMs: 250 });
  });

  afterEach(async () => {
    await recoverCordonCut(kubeConfig('primary'), () => undefined);
  });

  after(async () => {
    for (const f of [CORDON_RBAC, DRILL_RBAC, PRIMARY_RBAC]) await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', f]).catch(() => undefined);
    for (const name of created) await deleteNamespaceAndWait('primary', name);
  });

  it('with rbac.yaml only, it sees the node a killed drill left cordoned but may not uncordon it: FORBIDDEN with the kubectl commands, the node left as it is', async () => {
    await leftCordon();
    await assert.rejects(drillAsSa(), (e: unknown) => {
      assert.ok(isRelayError(e, 'FORBIDDEN'), String(e));
      assert.match(e.message, /^could not uncordon every node a drill cordoned in primary \(still cordoned: primary-node-2\): primary-node-2: .*forbidden.*system:serviceaccount:rollout-relay:rollout-relay-drill/s);
      assert.ok(e.message.endsWith(`; uncordon them by hand (kubectl uncordon primary-node-2; kubectl annotate node primary-node-2 ${CORDON_ANNOTATION}-) or grant the drill patch on nodes (manifests/drill/rbac-cordon.yaml) and run it again`), e.message);
      return true;
    });
    const left = await node();
    assert.equal(left.spec?.unschedulable, true);
    assert.ok(left.metadata.annotations?.[CORDON_ANNOTATION]);
  });

  it('with rbac-cordon.yaml too, the same identity uncordons it', async () => {
    await leftCordon();
    await kubectl(['apply', '-f', CORDON_RBAC]);
    try {
      // The API server's authorizer sees the new binding shortly after it is written: retried while forbidden.
      let nodes: string[] = [];
      await waitFor('the recovery, once patch on nodes is granted', async () => {
        try {
          nodes = (await recoverLeftovers({ primary: sa, log: () => undefined })).nodes;
          return true;
        } catch (err) {
          if (isRelayError(err, 'FORBIDDEN')) return false;
          throw err;
        }
      }, { timeoutMs: 30_000, intervalMs: 250 });
      assert.deepEqual(nodes, ['primary-node-2']);
      const back = await node();
      assert.equal(back.spec?.unschedulable ?? false, false);
      assert.equal(back.metadata.annotations?.[CORDON_ANNOTATION], undefined);
    } finally {
      await kubectl(['delete', '--ignore-not-found', '-f', CORDON_RBAC]);
    }
  });

  it('without list on nodes, a drill of any cut refuses to start (FORBIDDEN, saying what to grant) instead of missing a leftover cordon', async () => {
    await kubectl(['delete', 'clusterrolebinding', 'rollout-relay-drill-nodes-read']);
    try {
      await waitFor('the drill ServiceAccount may no longer list nodes', async () => !(await saMay('/api/v1/nodes')), { timeoutMs: 30_000, intervalMs: 250 });
      await assert.rejects(drillAsSa(), (e: unknown) => e instanceof RelayError && e.code === 'FORBIDDEN'
        && /^the drill may not list primary's nodes \(.*forbidden.*\), so it cannot tell whether a drill killed earlier left nodes cordoned \(annotation rollout-relay\.io\/drill-cordoned\); grant its identity list on nodes \(manifests\/drill\/rbac\.yaml does\) and run it again$/s.test(e.message));
    } finally {
      await kubectl(['apply', '-f', DRILL_RBAC]);
    }
  });
});
