import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import type { PostCheckResult } from '../../hooks/types.js';

interface HooksRunCliOptions {
  config: string;
  target: string;
  hook?: string[];
  json?: boolean;
  junit?: string;
  dotenv?: string;
}

const WORKLOAD_REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

function table(results: PostCheckResult[]): string {
  const head = ['RESULT', 'HOOK', 'TYPE', 'OBSERVED', 'SECONDS', 'MESSAGE'];
  const body = results.map((r) => [r.passed ? 'pass' : 'FAIL', r.name, r.type, r.observed, r.seconds.toFixed(1), r.message.split('\n')[0]!]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function registerHooks(program: Command): void {
  const hooks = program.command('hooks').description('post-hooks (design §5): run them against what is live in DR, for operators and drills');
  hooks
    .command('run')
    .description('run the configured hooks of one target against the revision its status ConfigMap records (exit 0 all pass, 1 HOOK_FAILED)')
    .argument('<workload>', 'NAMESPACE/NAME of the Rollout or Deployment')
    .requiredOption('--config <file>', 'the RelayConfig (YAML) holding the hooks: list')
    .requiredOption('--target <name>', 'the DR target (targets[].name)')
    .option('--hook <name>', 'run only this hook (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'machine-readable output')
    .option('--junit <file>', 'also write a JUnit XML report: one case per hook, pass or fail')
    .option('--dotenv <file>', 'also write a dotenv report: HOOKS_PASSED, HOT_UPDATE_STATUS(_<TARGET>), BUNDLE_DIGEST, HOOK_<NAME>=passed|failed')
    .action(async (arg: string, opts: HooksRunCliOptions) => {
      if (opts.junit === undefined && opts.dotenv === undefined) return runHooks(arg, opts);
      // CI reports are written pass or fail, also when hooks run itself refuses.
      const started = Date.now();
      const { writeHooksRunReports } = await import('../../ci/reports.js');
      const paths = { ...(opts.junit ? { junit: opts.junit } : {}), ...(opts.dotenv ? { dotenv: opts.dotenv } : {}) };
      const seen: Partial<Checked> = {};
      try {
        await runHooks(arg, opts, seen);
      } catch (err) {
        const refused = !(err instanceof RelayError && err.code === 'HOOK_FAILED');
        await writeHooksRunReports(paths, {
          application: seen.application ?? arg, target: opts.target, state: seen.state ?? '', digest: seen.digest ?? '', results: seen.results ?? [],
          ...(refused ? { error: { code: err instanceof RelayError ? err.code : 'INTERNAL', message: err instanceof Error ? err.message : String(err) } } : {}),
        }, started);
        throw err;
      }
      await writeHooksRunReports(paths, { application: seen.application!, target: opts.target, state: seen.state!, digest: seen.digest!, results: seen.results! }, started);
    });
}

/** What one `hooks run` checked, for the CI reports. */
interface Checked {
  application: string;
  state: string;
  digest: string;
  results: PostCheckResult[];
}

async function runHooks(arg: string, opts: HooksRunCliOptions, seen: Partial<Checked> = {}): Promise<void> {
  const m = WORKLOAD_REF.exec(arg);
  if (!m) throw new RelayError('USAGE', `"${arg}" must be NAMESPACE/NAME of a Rollout or Deployment`);
  // Loaded on use: the Kubernetes client is slow to load and --help does not need it.
  const [{ loadRelayConfig }, { argoCdSecretTarget, loadKubeConfig }, { sourceKubeConfig }, { HookList }, { liveRevision }] = await Promise.all([
    import('../../config/load.js'), import('../../cluster/kubeconfig.js'), import('../../promote/targets.js'), import('../../hooks/runner.js'), import('../../hooks/live.js'),
  ]);
  const config = loadRelayConfig(opts.config);
  const target = config.targets.find((t) => t.name === opts.target);
  if (!target) throw new RelayError('USAGE', `--target ${opts.target} is not in the config; targets: ${config.targets.map((t) => t.name).join(', ')}`);
  if (!(config.hooks instanceof HookList) || config.hooks.count === 0) throw new RelayError('USAGE', `${opts.config} configures no hooks`);
  // Every hook runs, also after a failure: an operator wants the whole picture.
  const runner = config.hooks.select(opts.hook ?? [], { continueAfterFailure: true });
  // The primary is read only for a target reached through an Argo CD cluster Secret (a drill may have cut it off).
  const kc = target.clusterSecret
    ? (await argoCdSecretTarget(
      sourceKubeConfig(config),
      `${target.clusterSecret.namespace}/${target.clusterSecret.name}`,
    )).kubeConfig
    : loadKubeConfig({ ...(target.kubeconfig ? { kubeconfig: target.kubeconfig } : {}), ...(target.context ? { context: target.context } : {}), requestTimeoutMs: config.timeouts.apiRequestMs });
  const live = await liveRevision(kc, target.name, m[1]!, m[3]!);
  Object.assign(seen, { application: live.context.application, state: live.state, digest: live.context.digest });
  if (live.state !== 'completed') process.stderr.write(`warning: ${live.context.application} on ${target.name} is ${live.state}, not completed; checking the revision its status records (${live.context.revision})\n`);
  const budget = runner.hooks.reduce((s, h) => s + h.timeoutMs, 0);
  const results = await runner.run({ ...live.context, deadline: Date.now() + budget });
  seen.results = results;
  const failed = results.filter((r) => !r.passed);
  if (opts.json) {
    const { kubeConfig: _kc, ...ctx } = live.context;
    process.stdout.write(JSON.stringify({ ...ctx, state: live.state, passed: failed.length === 0, postChecks: results }) + '\n');
  } else {
    process.stdout.write(`${live.context.application} on ${target.name}: revision ${live.context.revision || '?'}, pod-template-hash ${live.context.podTemplateHash || '?'}, ${live.context.digest}\n${table(results)}\n`);
  }
  if (failed.length) throw new RelayError('HOOK_FAILED', `${failed.length} of ${results.length} hook(s) failed: ${failed.map((f) => f.name).join(', ')}`);
}
