import assert from 'node:assert/strict';
import { loadRelayConfig } from '../../../src/config/load.js';
import { Promoter } from '../../../src/promote/index.js';
import type { Logger } from '../../../src/promote/deps.js';
import { freezeComponent } from '../../../src/sandbox/restart.js';
import { freshNamespace, kubeConfig, sandbox } from '../support/sandbox.js';
import { RelaySetup, applyPrimary, cleanupDrNamespace, deleteDrNamespaces, deploymentApp, drStatus, waitComplete } from './support.js';

/**
 * Recording a target's outcome in primary's source record happens after the target finished, outside
 * the promotion deadline. Against the real primary kube-apiserver frozen with SIGSTOP at that moment,
 * the record gives up at its own bound (timeouts.apiRequest) and the promotion returns its result.
 */
describe('promote: the source-record write after "target finished" is bounded', function () {
  this.timeout(300_000);
  let thaw: (() => void) | undefined;
  // ALWAYS resume the API server, whatever happened: the rest of the suite needs it.
  afterEach(async () => {
    thaw?.();
    thaw = undefined;
    await deleteDrNamespaces();
  });

  it('primary frozen right after the target finished → the completed result comes back at the record\'s bound; a warning with DEADLINE_EXCEEDED is logged', async () => {
    const setup = new RelaySetup({ extra: { timeouts: { apiRequest: '5s' } } });
    const ns = await freshNamespace('rr-rec-bound', ['primary']);
    cleanupDrNamespace(ns);
    await applyPrimary(deploymentApp(ns, 'orders', 'registry.example/orders:1'));
    await waitComplete('Deployment', ns, 'orders', 'registry.example/orders:1');

    const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
    let frozenAt = 0;
    const onLine = (msg: string): void => {
      if (msg !== 'target finished' || thaw) return;
      thaw = freezeComponent({ dir: sandbox().dir, context: 'primary', component: 'kube-apiserver' });
      frozenAt = Date.now();
    };
    const logger: Logger = {
      info: (_obj, msg) => onLine(msg),
      warn: (obj, msg) => {
        warnings.push({ obj: obj as Record<string, unknown>, msg });
        onLine(msg);
      },
      error: () => undefined,
    };
    // The primary's client keeps the 60 s default per request: only the record's own bound (5 s) can end it sooner.
    const promoter = new Promoter(loadRelayConfig(setup.configPath), { primary: kubeConfig('primary'), logger });
    const result = await promoter.promote({ workload: { kind: 'Deployment', namespace: ns, name: 'orders' } });
    const took = Date.now() - frozenAt;
    thaw!();

    assert.ok(frozenAt > 0, 'primary was frozen when the target finished');
    assert.deepEqual(result.targets.map((t) => [t.target, t.state]), [['shenzhen', 'completed']], 'the result is unchanged');
    const warning = warnings.find((w) => w.msg === 'could not record the outcome in the source record');
    assert.ok(warning, `a warning; got ${JSON.stringify(warnings)}`);
    assert.equal(warning.obj.code, 'DEADLINE_EXCEEDED');
    assert.equal(warning.obj.target, 'shenzhen');
    assert.match(String(warning.obj.err), /took longer than 5 s/);
    assert.ok(took < 50_000, `returned at the record's bound, not after the 60 s request timeout (took ${took} ms)`);
    assert.equal((await drStatus(`${ns}/orders`))?.state, 'completed', 'DR\'s own status has the outcome');
  });
});
