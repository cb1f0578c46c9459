import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import { parseDuration } from '../../bundle/create.js';
import type { PromotionResult, WorkloadRef } from '../../promote/types.js';
import type { PromotionReport } from '../../github/promotion-reporter.js';
import type { JUnitCase } from '../../ci/reports.js';

interface PromoteCliOptions {
  config: string;
  wait?: boolean;
  timeout?: string;
  json?: boolean;
  bundle?: string;
  kind?: string;
  target?: string[];
  expectDigest?: string;
  junit?: string;
  dotenv?: string;
}

interface ResumeCliOptions {
  config: string;
  target: string;
  kind?: string;
  message?: string;
}

const WORKLOAD_REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

export function parseWorkloadArg(arg: string): { namespace: string; name: string } {
  const m = WORKLOAD_REF.exec(arg);
  if (!m) throw new RelayError('USAGE', `"${arg}" must be NAMESPACE/NAME of a Rollout or Deployment`);
  return { namespace: m[1]!, name: m[3]! };
}

export function parseKind(kind: string | undefined): WorkloadRef['kind'] | undefined {
  if (kind === undefined) return undefined;
  if (kind === 'Rollout' || kind === 'Deployment') return kind;
  throw new RelayError('USAGE', `--kind must be Rollout or Deployment, got "${kind}"`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The config, the primary client and a Promoter: loaded on use (the Kubernetes client is slow to load). */
async function setup(configPath: string) {
  const [{ loadRelayConfig }, { sourceKubeConfig }, { Promoter }] = await Promise.all([
    import('../../config/load.js'), import('../../promote/targets.js'), import('../../promote/pipeline.js'),
  ]);
  const config = loadRelayConfig(configPath);
  const primary = sourceKubeConfig(config);
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
    .option('--target <name>', 'only this target (repeatable; default: every target of the config)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--expect-digest <sha256:hex>', 'with --bundle: refuse (DIGEST_MISMATCH) unless the file is this bundle, e.g. the one a CI job verified')
    .option('--junit <file>', 'also write a JUnit XML report: one case per target and one for the deadline (SLA), pass or fail')
    .option('--dotenv <file>', 'also write a dotenv report: HOT_UPDATE_STATUS, BUNDLE_DIGEST, PROMOTION_SECONDS, HOT_UPDATE_STATUS_<TARGET> (pass or fail)')
    .action(async (arg: string, opts: PromoteCliOptions) => {
      if (opts.junit === undefined && opts.dotenv === undefined) {
        await runPromote(arg, opts);
        return;
      }
      const started = Date.now();
      const timeoutMs = opts.timeout !== undefined ? parseDuration(opts.timeout) : undefined;
      let result: PromotionResult | undefined;
      try {
        result = await runPromote(arg, opts);
      } catch (err) {
        await writePromoteReports(opts, arg, started, timeoutMs, result ?? lastResult, err);
        throw err;
      }
      await writePromoteReports(opts, arg, started, timeoutMs, result, undefined);
    });
}

/** The result of the last promotion of this process, kept for reports when the command then fails. */
let lastResult: PromotionResult | undefined;

async function writePromoteReports(opts: PromoteCliOptions, workload: string, started: number, timeoutMs: number | undefined, result: PromotionResult | undefined, err: unknown): Promise<void> {
  const { writeCiReports, targetVariable } = await import('../../ci/reports.js');
  const seconds = result?.seconds ?? (Date.now() - started) / 1000;
  const code = err instanceof RelayError ? err.code : err === undefined ? undefined : 'INTERNAL';
  const message = err instanceof Error ? err.message : err === undefined ? '' : String(err);
  const app = result?.application ?? workload;
  const cases: JUnitCase[] = (result?.targets ?? []).map((t) => ({
    name: `promote ${app} to ${t.target}`,
    classname: 'rollout-relay.promote',
    seconds: t.seconds,
    ...(t.state !== 'completed' ? { failure: { type: t.code ?? t.state, message: `${t.target} ${t.state}${t.code ? ` (${t.code})` : ''} after ${t.seconds.toFixed(1)} s: ${t.message}` } } : {}),
  }));
  if (timeoutMs !== undefined) {
    const sla = timeoutMs / 1000;
    const breached = seconds > sla || (result?.targets ?? []).some((t) => t.code === 'DEADLINE_EXCEEDED');
    cases.push({
      name: `${app} completed within the ${sla} s SLA`,
      classname: 'rollout-relay.sla',
      seconds,
      ...(breached || (code !== undefined && !result) ? { failure: { type: breached ? 'SLA_BREACHED' : code!, message: breached ? `SLA breached: measured ${seconds.toFixed(1)} s, SLA ${sla} s` : message } } : {}),
    });
  }
  if (cases.length === 0) cases.push({ name: `promote ${app}`, classname: 'rollout-relay.promote', seconds, ...(code ? { failure: { type: code, message } } : {}) });
  const states = result?.targets.map((t) => t.state) ?? [];
  const overall = code !== undefined && states.length === 0 ? 'failed' : states.find((s) => s !== 'completed') ?? 'completed';
  const vars: Record<string, string | number> = {
    HOT_UPDATE_STATUS: overall,
    BUNDLE_DIGEST: result?.bundleDigest ?? '',
    PROMOTION_SECONDS: seconds.toFixed(1),
    ...(timeoutMs !== undefined ? { PROMOTION_SLA_SECONDS: timeoutMs / 1000 } : {}),
    ...(result ? { PROMOTION_SEQUENCE: result.sequence } : {}),
    ...(result?.commit ? { PROMOTION_COMMIT: result.commit } : {}),
    ...(code ? { PROMOTION_ERROR_CODE: code } : {}),
  };
  for (const t of result?.targets ?? []) vars[targetVariable('HOT_UPDATE_STATUS', t.target)] = t.state;
  await writeCiReports({ ...(opts.junit ? { junit: opts.junit } : {}), ...(opts.dotenv ? { dotenv: opts.dotenv } : {}) }, { name: 'rollout-relay promote', timestamp: started, cases }, vars);
}

/** sha256 of a file, streamed. */
async function fileDigest(path: string): Promise<string> {
  const [{ createHash }, { fileChunks, formatDigest }] = await Promise.all([import('node:crypto'), import('../../bundle/index.js')]);
  const h = createHash('sha256');
  for await (const c of fileChunks(path)) h.update(c);
  return formatDigest(h.digest('hex'));
}

async function runPromote(arg: string, opts: PromoteCliOptions): Promise<PromotionResult> {
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
  if (opts.expectDigest !== undefined) {
    if (!opts.bundle) throw new RelayError('USAGE', '--expect-digest applies to --bundle');
    const got = await fileDigest(opts.bundle);
    if (got !== opts.expectDigest) throw new RelayError('DIGEST_MISMATCH', `${opts.bundle} is ${got}, not the expected ${opts.expectDigest}; apply only the bundle that was verified`);
  }
  const result = await promoter.promote({ workload: ref }, { deadline: Date.now() + timeoutMs, ...(opts.bundle ? { bundlePath: opts.bundle } : {}), ...(opts.target?.length ? { targets: opts.target } : {}) });
  lastResult = result;
  const reports = reporter ? await reporter.flush() : undefined;
  process.stdout.write((opts.json ? JSON.stringify(reports ? { ...result, github: reports } : result) : summary(result)) + '\n');
  if (reports && !opts.json) process.stderr.write(githubSummary(reports).map((l) => `${l}\n`).join(''));
  const bad = result.targets.filter((t) => t.state !== 'completed');
  if (bad.length) {
    const first = bad[0]!;
    // Exit 1 for every target failure: USAGE would read as exit 2.
    const code = first.code && first.code !== 'USAGE' ? first.code : 'APPLY_FAILED';
    const measured = result.seconds !== undefined ? `measured ${result.seconds.toFixed(1)} s against a ${timeoutMs / 1000} s deadline; ` : '';
    const breach = bad.some((t) => t.code === 'DEADLINE_EXCEEDED') ? 'SLA breached: ' : '';
    throw new RelayError(code, `${breach}${measured}${bad.length} of ${result.targets.length} target(s) not completed: ${bad.map((t) => `${t.target} ${t.state}${t.code ? ` (${t.code})` : ''}`).join(', ')}`);
  }
  return result;
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
