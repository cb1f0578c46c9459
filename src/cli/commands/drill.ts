import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import { shown } from '../../printable.js';
import type { RelayConfig } from '../../config/types.js';
import type { DrillScenario } from '../../drill/scenario.js';

interface DrillCliOptions {
  scenario: string;
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

export function registerDrill(program: Command): void {
  program
    .command('drill')
    .description('run a DR failover drill (design §8): promote, cut primary off, verify DR, fail back; measures RTO and RPO and writes reports (exit 0 pass, 1 fail, 2 usage)')
    .requiredOption('--scenario <file>', 'the DrillScenario (YAML)')
    .option('--report-dir <dir>', 'where drill-report.{json,md,xml,html} are written', '.')
    .option('--format <list>', `report formats, comma-separated: ${FORMATS.join(',')}`, DEFAULT_FORMATS.join(','))
    .option('--dry-run', 'print the plan and change nothing (also the default without --yes)')
    .option('--yes', 'run the drill: it cuts primary off (and undoes that)')
    .option('--json', 'print the JSON report on stdout; progress goes to stderr as plain lines')
    .action(async (opts: DrillCliOptions) => {
      const formats = parseFormats(opts.format);
      const [{ loadScenario }, { loadRelayConfig }, { renderPlan }] = await Promise.all([
        import('../../drill/scenario.js'), import('../../config/load.js'), import('../../drill/plan.js'),
      ]);
      const scenario = loadScenario(opts.scenario);
      let config;
      try {
        config = loadRelayConfig(scenario.config);
      } catch (err) {
        if (err instanceof RelayError) throw new RelayError(err.code, `drill scenario ${scenario.file}: config: ${err.message}`, { cause: err });
        throw err;
      }
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
}

async function runDrill(
  scenario: DrillScenario,
  config: RelayConfig,
  formats: Format[],
  opts: DrillCliOptions,
): Promise<void> {
  const [{ sourceKubeConfig }, { DrillRunner }, { createProgress }, { renderReports, drillReportJson }] = await Promise.all([
    import('../../promote/targets.js'), import('../../drill/runner.js'), import('../../drill/progress.js'), import('../../drill/report.js'),
  ]);
  const primary = sourceKubeConfig(config);
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
