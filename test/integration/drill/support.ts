import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { parseDrillReport, type DrillReport } from '../../../src/drill/report.js';
import { CUT_RECORD } from '../../../src/drill/cuts.js';
import { checkHealth, readState } from '../../../src/sandbox/index.js';
import { waitFor } from '../../../src/sandbox/http.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { deleteNamespaceAndWait, kubeConfig, sandbox, setSandbox, suiteNamespace } from '../support/sandbox.js';
import { applyPrimary, cleanupDrNamespace, deleteDrNamespaces, RelaySetup, rolloutApp, waitComplete } from '../promote/support.js';

const BIN = fileURLToPath(new URL('../../../src/cli/bin.ts', import.meta.url));

/** A relay setup plus a drill scenario beside it; the cut stops the test sandbox's primary kube-apiserver. */
/** The namespaces the drill manifests live in (rollout-relay, argocd), created in primary where missing; returns those it created. */
export async function createDrillNamespaces(): Promise<string[]> {
  const core = kubeConfig('primary').makeApiClient(CoreV1Api);
  const created: string[] = [];
  for (const name of ['rollout-relay', 'argocd']) {
    try {
      await core.createNamespace({ body: { metadata: { name } } });
      created.push(name);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  return created;
}

export class DrillSetup extends RelaySetup {
  /**
   * The fixture every drill suite shares, as hooks of the calling `describe`: before all, a
   * DrillSetup and release 1 of Rollout `app` (image registry.example/APP:1) in a new namespace of
   * primary, promoted once to DR; after each test, the sandbox healthy with no cut left behind;
   * after all, the namespaces deleted in DR and primary. Read `setup` and `ns` from the tests.
   */
  static forSuite(opts: { namespacePrefix: string; app: string; setup?: ConstructorParameters<typeof RelaySetup>[0] }): DrillSuite {
    const suite = { setup: undefined as DrillSetup | undefined, ns: '' };
    before(async () => {
      suite.setup = new DrillSetup(opts.setup);
      suite.ns = await suiteNamespace(opts.namespacePrefix, ['primary']);
      cleanupDrNamespace(suite.ns);
      const image = `registry.example/${opts.app}:1`;
      await applyPrimary(rolloutApp(suite.ns, opts.app, image));
      await waitComplete('Rollout', suite.ns, opts.app, image);
      const first = await suite.setup.promoter().promote({ workload: { kind: 'Rollout', namespace: suite.ns, name: opts.app } });
      assert.equal(first.targets[0]!.state, 'completed', first.targets[0]!.message);
    });

    afterEach(sandboxHealthy);

    after(async () => {
      await deleteDrNamespaces();
      // After a cut, kube-controller-manager's namespace controller may take a while to resume deleting.
      await deleteNamespaceAndWait('primary', suite.ns, 150_000);
    });

    return {
      get setup() {
        if (!suite.setup) throw new Error('DrillSetup.forSuite: the suite\'s before hook has not run');
        return suite.setup;
      },
      get ns() {
        return suite.ns;
      },
    };
  }

  scenario(name: string, fields: Record<string, unknown>, config = 'relay.yaml'): string {
    const file = join(this.dir, `${name}.yaml`);
    writeFileSync(file, stringify({
      apiVersion: 'rollout-relay.io/v1', kind: 'DrillScenario', name, config,
      sla: '100s', cut: { type: 'sandbox', dir: sandbox().dir, context: 'primary' },
      steps: ['promote', 'cut-primary', 'verify-dr', 'failback'],
      ...fields,
    }));
    return file;
  }

  /** Another RelayConfig in the same directory (same keys and policy), e.g. with hooks. */
  config(name: string, extra: Record<string, unknown>): string {
    const base = readFileSync(this.configPath, 'utf8');
    const path = join(this.dir, name);
    writeFileSync(path, `${base}${stringify(extra)}`);
    return path;
  }
}

/** What DrillSetup.forSuite prepared: the setup and the namespace of the application in primary. */
export interface DrillSuite {
  readonly setup: DrillSetup;
  readonly ns: string;
}

export interface DrillRun {
  code: number | null;
  stdout: string;
  stderr: string;
  report: DrillReport | undefined;
}

/**
 * Runs the real CLI (`drill --yes --json`) in a child process. `onStderr` sees progress lines as
 * they come (to send a signal at the right moment).
 */
export function runDrill(scenario: string, reportDir: string, opts: { formats?: string; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<DrillRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'drill', '--scenario', scenario, '--yes', '--json', '--report-dir', reportDir, '--format', opts.formats ?? 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      opts.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      let report: DrillReport | undefined;
      const file = join(reportDir, 'drill-report.json');
      if (existsSync(file)) report = parseDrillReport(JSON.parse(readFileSync(file, 'utf8')));
      resolve({ code, stdout, stderr, report });
    });
  });
}

/** Runs `rollout-relay drill recover --scenario FILE ...args` (the real CLI) in a child process. */
export function runRecover(scenario: string, args: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'drill', 'recover', '--scenario', scenario, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The sandbox as it is now (the drill restarted primary's API server: new pid), healthy, without a cut left behind. */
export async function sandboxHealthy(): Promise<void> {
  const dir = sandbox().dir;
  await waitFor('the sandbox healthy again', async () => {
    const state = readState(dir);
    return state !== undefined && (await checkHealth(state)).healthy;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  setSandbox(readState(dir));
  if (existsSync(join(dir, CUT_RECORD))) throw new Error(`${CUT_RECORD} is still in ${dir}: a cut was not undone`);
}
