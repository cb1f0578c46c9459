import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import { shown } from '../../printable.js';
import type { RelayConfig } from '../../config/types.js';
import type { DrillScenario } from '../../drill/scenario.js';

interface DrillCliOptions {
  scenario?: string;
  reportDir?: string;
  format?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

const FORMATS = ['json', 'md', 'junit', 'html'] as const;
type Format = (typeof FORMATS)[number];
const DEFAULT_FORMATS: Format[] = ['json', 'md'];

/** `--format json,md,junit,html` → the formats, USAGE for anything else. Exported for tests. */
export function parseFormats(text: string | undefined): Format[] {
  if (text === undefined) return DEFAULT_FORMATS;
  const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = list.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (bad.length || list.length === 0) throw new RelayError('USAGE', `--format takes a comma-separated list of ${FORMATS.join(', ')}; got "${text}"`);
  return [...new Set(list)] as Format[];
}

interface RecoverCliOptions {
  scenario: string;
  dryRun?: boolean;
  wait: string;
  json?: boolean;
}

/** The scenario and the relay config it names (a config that does not load says it came from the scenario). */
async function loadDrillFiles(file: string): Promise<{ scenario: DrillScenario; config: RelayConfig }> {
  const [{ loadScenario }, { loadRelayConfig }] = await Promise.all([import('../../drill/scenario.js'), import('../../config/load.js')]);
  const scenario = loadScenario(file);
  try {
    return { scenario, config: loadRelayConfig(scenario.config) };
  } catch (err) {
    if (err instanceof RelayError) throw new RelayError(err.code, `drill scenario ${scenario.file}: config: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Primary as the relay config names it (the same client settings as promote and the controller). */
async function primaryKubeConfig(config: RelayConfig) {
  const { sourceKubeConfig } = await import('../../promote/targets.js');
  return sourceKubeConfig(config);
}

export function registerDrill(program: Command): void {
  const drill = program
    .command('drill')
    .description('run a DR failover drill (design §8): promote, cut primary off, verify DR, fail back; measures RTO and RPO and writes reports (exit 0 pass, 1 fail, 2 usage)')
    // Required, but checked in the action: commander would also demand it of `drill recover`.
    .option('--scenario <file>', 'the DrillScenario (YAML); required')
    .option('--report-dir <dir>', 'where drill-report.{json,md,xml,html} are written', '.')
    .option('--format <list>', `report formats, comma-separated: ${FORMATS.join(',')}`, DEFAULT_FORMATS.join(','))
    .option('--dry-run', 'print the plan and change nothing (also the default without --yes)')
    .option('--yes', 'run the drill: it cuts primary off (and undoes that)')
    .option('--json', 'print the JSON report on stdout; progress goes to stderr as plain lines')
    .action(async (opts: DrillCliOptions) => {
      if (opts.scenario === undefined) throw new RelayError('USAGE', "required option '--scenario <file>' not specified (rollout-relay drill --scenario drill.yaml)");
      const formats = parseFormats(opts.format);
      const { renderPlan } = await import('../../drill/plan.js');
      const { scenario, config } = await loadDrillFiles(opts.scenario);
      const hookNames = 'names' in config.hooks ? (config.hooks as { names: string[] }).names : [];
      const plan = renderPlan(scenario, { sourceCluster: config.source.cluster, targets: config.targets.map((t) => t.name), hooks: hookNames, promotionTimeoutMs: config.timeouts.promotionMs });
      if (opts.dryRun || !opts.yes) {
        const note = opts.dryRun ? 'dry run: nothing was changed' : 'nothing was changed; run again with --yes to run the drill';
        if (opts.json) process.stdout.write(JSON.stringify({ dryRun: true, scenario: scenario.name, steps: scenario.steps, plan: plan.split('\n'), note }) + '\n');
        else process.stdout.write(`${plan}\n${note}\n`);
        return;
      }
      await runDrill(scenario, config, formats, opts);
    });
  drill
    .command('recover')
    .description('undo what drills killed with SIGKILL left cut in primary (nodes cordoned, workloads scaled to 0, the sandbox\'s stopped API server) without running a drill, then wait for the scenario\'s workloads to be complete (exit 0 when primary is back, 1 otherwise)')
    .requiredOption('--scenario <file>', 'the DrillScenario (YAML): its relay config names primary; a sandbox cut names the sandbox')
    .option('--dry-run', 'list what is left cut and change nothing')
    .option('--wait <duration>', 'how long to wait for the workloads to be complete again', '180s')
    .option('--json', 'print the result as JSON on stdout; progress goes to stderr')
    .action(async (opts: RecoverCliOptions) => {
      await recover(opts);
    });
}

async function recover(opts: RecoverCliOptions): Promise<void> {
  const [{ parseDuration, isDuration }, { findLeftovers, recoverLeftovers, recoverySummary, waitComplete, notBackError }] = await Promise.all([
    import('../../bundle/create.js'), import('../../drill/recover.js'),
  ]);
  if (!isDuration(opts.wait)) throw new RelayError('USAGE', `--wait takes a duration like 180s or 5m; got "${opts.wait}"`);
  const waitMs = parseDuration(opts.wait);
  const { scenario, config } = await loadDrillFiles(opts.scenario);
  const primary = await primaryKubeConfig(config);
  const sandboxDir = scenario.cut.type === 'sandbox' ? scenario.cut.dir : undefined;
  const say = (line: string) => process.stderr.write(`${shown(line)}\n`);
  if (opts.dryRun) {
    const left = await findLeftovers({ primary, sandboxDir, applications: scenario.applications });
    if (opts.json) process.stdout.write(JSON.stringify({ dryRun: true, leftovers: left }) + '\n');
    else {
      process.stdout.write(left.length === 0
        ? 'no cut left behind by a drill: nothing to recover\n'
        : `${left.map((l) => `${l.cut.padEnd(13)} ${shown(l.what)} since ${l.at} by ${shown(l.by)}`).join('\n')}\ndry run: nothing was changed; run again without --dry-run to undo these\n`);
    }
    return;
  }
  const { Promoter } = await import('../../promote/pipeline.js');
  const { nullLogger } = await import('../../promote/deps.js');
  const recovery = await recoverLeftovers({ primary, sandboxDir, applications: scenario.applications, log: say });
  const summary = recoverySummary(recovery);
  // Primary is back when the scenario's workloads and every one restored are complete. No signing here: no key is read.
  const promoter = new Promoter(config, { primary, logger: nullLogger, signers: () => Promise.resolve([]) });
  const refs = recovery.workloads.map((w) => w.ref);
  for (const a of scenario.applications) {
    const ref = await promoter.findWorkload(a.namespace, a.name);
    if (!refs.some((r) => r.kind === ref.kind && r.namespace === ref.namespace && r.name === ref.name)) refs.push(ref);
  }
  if (refs.length) say(`waiting (up to ${waitMs / 1000} s) for ${refs.map((r) => `${r.kind} ${r.namespace}/${r.name}`).join(', ')} to be complete in primary`);
  const left = await waitComplete(refs, (ref) => promoter.readWorkload(ref), Date.now() + waitMs, { clock: Date.now, pause: (ms) => new Promise((r) => setTimeout(r, ms)), intervalMs: 250 });
  if (left.length) throw notBackError(recovery, left, waitMs, `run rollout-relay drill recover --scenario ${opts.scenario} again to wait longer`);
  const complete = refs.length ? `; ${refs.map((r) => `${r.kind} ${r.namespace}/${r.name}`).join(', ')} complete in primary` : '';
  const text = `${summary ? `recovered: ${summary}` : 'no cut left behind by a drill: nothing to recover'}${complete}`;
  if (opts.json) process.stdout.write(JSON.stringify({ recovered: summary !== '', sandbox: recovery.sandbox ?? null, nodes: recovery.nodes, workloads: recovery.workloads.map((w) => ({ ...w.ref, replicas: w.replicas })), complete: refs }) + '\n');
  else process.stdout.write(`${shown(text)}\n`);
}

async function runDrill(
  scenario: DrillScenario,
  config: RelayConfig,
  formats: Format[],
  opts: DrillCliOptions,
): Promise<void> {
  const [{ DrillRunner }, { createProgress }, { renderReports, drillReportJson }] = await Promise.all([
    import('../../drill/runner.js'), import('../../drill/progress.js'), import('../../drill/report.js'),
  ]);
  const primary = await primaryKubeConfig(config);
  const tty = !opts.json && process.stderr.isTTY === true;
  const progress = createProgress({ slaMs: scenario.slaMs, steps: scenario.steps, tty, write: (s) => process.stderr.write(s), ...(process.stderr.columns ? { columns: process.stderr.columns } : {}) });
  // Ctrl-C and SIGTERM stop the drill, never the process: the cut is undone first, then it exits (1).
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!abort.signal.aborted) {
      progress.note(`${sig}: stopping the drill (a promotion under way finishes first); the cut is undone before it exits`);
      abort.abort(sig);
    } else {
      progress.note(`${sig}: still undoing the cut; waiting for primary to be back`);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report;
  try {
    report = await new DrillRunner({ scenario, config, primary, progress, signal: abort.signal }).run();
  } finally {
    progress.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const paths = renderReports(report, formats, opts.reportDir ?? '.');
  if (opts.json) {
    // The same document as drill-report.json (keys in schema order).
    process.stdout.write(drillReportJson(report));
  } else {
    const rpo = report.rpo ? `${report.rpo.releases} release(s), ${report.rpo.seconds.toFixed(1)} s` : 'not measured';
    process.stdout.write([
      `drill ${shown(report.scenario)}: ${report.verdict.toUpperCase()}: ${shown(report.reason)}`,
      `  RTO ${report.rtoSeconds !== null ? `${report.rtoSeconds.toFixed(2)} s` : 'not measured'} (SLA ${report.sla.seconds} s); RPO ${rpo}`,
      ...report.steps.map((s) => `  ${s.result.padEnd(7)} ${s.name.padEnd(12)} ${s.seconds.toFixed(1).padStart(6)} s  ${shown(s.message.split('\n')[0]!).slice(0, 160)}`),
      `  reports: ${paths.join(', ')}`,
    ].join('\n') + '\n');
  }
  if (report.verdict !== 'pass') process.exitCode = 1;
}
