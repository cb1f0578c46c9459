import type { Command } from 'commander';
import { parseKind, parseWorkloadArg } from './promote.js';

interface DiffCliOptions {
  config: string;
  target: string;
  kind?: string;
  json?: boolean;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('print what promoting a workload now would change in one DR target (server-side dry run, overrides applied); empty when nothing')
    .argument('<workload>', 'NAMESPACE/NAME of the Rollout or Deployment in primary')
    .requiredOption('--config <file>', 'RelayConfig file (design §9)')
    .requiredOption('--target <name>', 'the target to compare with (targets[].name)')
    .option('--kind <kind>', 'Rollout or Deployment, when both exist')
    .option('--json', 'machine-readable output: per object, its action and both versions')
    .action(async (workload: string, opts: DiffCliOptions) => {
      const ref = parseWorkloadArg(workload);
      const kind = parseKind(opts.kind);
      // Loaded on use: the Kubernetes client is slow to load and --help does not need it.
      const [{ loadRelayConfig }, { sourceKubeConfig }, { previewPromotion }, { renderPreviewDiff }] = await Promise.all([
        import('../../config/load.js'), import('../../promote/targets.js'), import('../../promote/preview.js'), import('../../apply/preview-diff.js'),
      ]);
      const config = loadRelayConfig(opts.config);
      const primary = sourceKubeConfig(config);
      const preview = await previewPromotion(config, primary, { ...ref, ...(kind ? { kind } : {}) }, opts.target);
      if (opts.json) {
        const changed = preview.previews.filter((p) => !p.unchanged);
        process.stdout.write(JSON.stringify({ application: preview.application, target: preview.target, overrides: preview.overrides, changed: changed.map((p) => ({ object: p.object, action: p.action })), pruned: preview.pruned }, null, 2) + '\n');
        return;
      }
      process.stdout.write(renderPreviewDiff(preview.previews, preview.pruned));
    });
}
