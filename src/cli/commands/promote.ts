import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import { parseDuration } from '../../bundle/create.js';
import type { PromotionResult, WorkloadRef } from '../../promote/types.js';
import type { PromotionReport } from '../../github/promotion-reporter.js';

interface PromoteCliOptions {
  config: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
  bundle?: string;
  kind?: string;
}

interface ResumeCliOptions {
  config: string;
  target: string;
  kind?: string;
  message?: string;
}

const WORKLOAD_REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

function parseWorkloadArg(arg: string): { namespace: string; name: string } {
  const m = WORKLOAD_REF.exec(arg);
  if (!m) throw new RelayError('USAGE', `"${arg}" must be NAMESPACE/NAME of a Rollout or Deployment`);
  return { namespace: m[1]!, name: m[3]! };
}

function parseKind(kind: string | undefined): WorkloadRef['kind'] | undefined {
  if (kind === undefined) return undefined;
  if (kind === 'Rollout' || kind === 'Deployment') return kind;
  throw new RelayError('USAGE', `--kind must be Rollout or Deployment, got "${kind}"`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The config, the primary client and a Promoter: loaded on use (the Kubernetes client is slow to load). */
async function setup(configPath: string) {
  const [{ loadRelayConfig }, { loadKubeConfig }, { Promoter }] = await Promise.all([
    import('../../config/load.js'), import('../../cluster/kubeconfig.js'), import('../../promote/pipeline.js'),
  ]);
  const config = loadRelayConfig(configPath);
  const primary = loadKubeConfig({ ...(config.source.kubeconfig ? { kubeconfig: config.source.kubeconfig } : {}), ...(config.source.context ? { context: config.source.context } : {}) });
  const reporter = await githubReporter(config.github);
  return { config, primary, reporter, promoter: new Promoter(config, { primary, ...(reporter ? { observer: reporter.observer() } : {}) }) };
}

/** With a `github:` block, every promotion is reported on its commit (failures printed, never fatal). */
async function githubReporter(github: { repo: string; tokenEnv: string; deployments: boolean } | undefined) {
  if (!github) return undefined;
  const [{ githubReportingSettings }, { GitHubPromotionReporter }] = await Promise.all([import('../../config/github-env.js'), import('../../github/promotion-reporter.js')]);
  const line = (obj: object, msg: string) => process.stderr.write(`github: ${msg} ${JSON.stringify(obj)}\n`);
  return new GitHubPromotionReporter(githubReportingSettings(github), { info: () => undefined, warn: line, error: line });
}

function githubSummary(reports: PromotionReport[]): string[] {
  return reports.flatMap((r) => r.skipped
    ? [`github: not reported (${r.skipped})`]
    : r.targets.map((t) => `github: ${t.context} ${t.state} on ${r.commit?.slice(0, 12)}${t.code ? `: not reported, ${t.code}` : ` (status ${t.statusId}${t.deploymentId !== undefined ? `, deployment ${t.deploymentId}` : ''})`}`));
}

function summary(r: PromotionResult): string {
  const lines = [
    `${r.application}: revision ${r.revision || '?'} (pod-template-hash ${r.podTemplateHash || '?'}), sequence ${r.sequence}, ${r.bundleDigest}${r.commit ? `, commit ${r.commit}` : ''}, ${r.seconds?.toFixed(1) ?? '?'}s`,
    `  phases (ms): ${Object.entries(r.phaseDurations).map(([k, v]) => `${k}=${v}`).join(' ')}`,
  ];
  for (const t of r.targets) lines.push(`  ${t.target}: ${t.state}${t.code ? ` ${t.code}` : ''} in ${t.seconds.toFixed(1)}s: ${t.message.split('\n')[0]}`);
  return lines.join('\n');
}

export function registerPromote(program: Command): void {
  program
    .command('promote')
    .description('export, bundle, sign and apply one finished rollout to every DR target of the config (the controller\'s pipeline, once)')
    .argument('<workload>', 'NAMESPACE/NAME of the Rollout or Deployment in the primary')
    .requiredOption('--config <file>', 'the RelayConfig (YAML)')
    .option('--wait', 'wait for the rollout in primary to complete first (at most --timeout)')
    .option('--timeout <duration>', 'deadline from completion to every target completed (default: the config\'s timeouts.promotion)')
    .option('--json', 'print the promotion result as JSON')
    .option('--bundle <file>', 'apply this signed bundle (and <file>.sig.json) instead of exporting')
    .option('--kind <kind>', 'Rollout or Deployment, when both exist with that name')
    .action(async (arg: string, opts: PromoteCliOptions) => {
      const { namespace, name } = parseWorkloadArg(arg);
      const kind = parseKind(opts.kind);
      const timeoutFlag = opts.timeout !== undefined ? parseDuration(opts.timeout) : undefined;
      const { config, promoter, reporter } = await setup(opts.config);
      const timeoutMs = timeoutFlag ?? config.timeouts.promotionMs;
      const ref = await promoter.findWorkload(namespace, name, kind);
      if (opts.wait && !opts.bundle) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const ws = await promoter.readWorkload(ref);
          if (ws.complete) break;
          if (/^(aborted|degraded)$/.test(ws.reason)) throw new RelayError('NOT_COMPLETE', `${ref.kind} ${namespace}/${name} is ${ws.reason}; it will not complete by itself`);
          if (Date.now() >= until) throw new RelayError('NOT_COMPLETE', `${ref.kind} ${namespace}/${name} did not complete within ${Math.round(timeoutMs / 1000)}s (${ws.reason})`);
          await sleep(250);
        }
      }
      const result = await promoter.promote({ workload: ref }, { deadline: Date.now() + timeoutMs, ...(opts.bundle ? { bundlePath: opts.bundle } : {}) });
      const reports = reporter ? await reporter.flush() : undefined;
      process.stdout.write((opts.json ? JSON.stringify(reports ? { ...result, github: reports } : result) : summary(result)) + '\n');
      if (reports && !opts.json) process.stderr.write(githubSummary(reports).map((l) => `${l}\n`).join(''));
      const bad = result.targets.filter((t) => t.state !== 'completed');
      if (bad.length) {
        const first = bad[0]!;
        // Exit 1 for every target failure: USAGE/NOT_IMPLEMENTED would read as exit 2.
        const code = first.code && first.code !== 'USAGE' && first.code !== 'NOT_IMPLEMENTED' ? first.code : 'APPLY_FAILED';
        throw new RelayError(code, `${bad.length} of ${result.targets.length} target(s) not completed: ${bad.map((t) => `${t.target} ${t.state}${t.code ? ` (${t.code})` : ''}`).join(', ')}`);
      }
    });
}

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('lift the pause a failed verification put on one target (its status becomes pending; the next promotion verifies again)')
    .argument('<workload>', 'NAMESPACE/NAME of the Rollout or Deployment in the primary')
    .requiredOption('--target <name>', 'the paused target (targets[].name)')
    .requiredOption('--config <file>', 'the RelayConfig (YAML)')
    .option('--kind <kind>', 'Rollout or Deployment, when both exist with that name')
    .option('--message <text>', 'why (kept in the status message)')
    .action(async (arg: string, opts: ResumeCliOptions) => {
      const { namespace, name } = parseWorkloadArg(arg);
      const kind = parseKind(opts.kind);
      const { config, primary, promoter } = await setup(opts.config);
      const target = config.targets.find((t) => t.name === opts.target);
      if (!target) throw new RelayError('USAGE', `--target ${opts.target} is not in the config; targets: ${config.targets.map((t) => t.name).join(', ')}`);
      const ref = await promoter.findWorkload(namespace, name, kind);
      const ws = await promoter.readWorkload(ref);
      const [{ resumeTarget }, { configTargetClients }] = await Promise.all([import('../../promote/resume.js'), import('../../promote/targets.js')]);
      const client = await configTargetClients(primary)(target);
      const r = await resumeTarget({ primary, target: client, application: ws.application, ...(opts.message ? { reason: opts.message } : {}) });
      process.stdout.write(`${ws.application} on ${target.name}: ${r.from} → pending; the next promotion (controller or promote) verifies again\n`);
    });
}
