import { CORDON_ANNOTATION } from './cut-marker.js';
import type { CutSpec, DrillScenario, StepName } from './scenario.js';

/** What the plan needs from the RelayConfig (read from the file only: a plan touches no cluster). */
export interface PlanContext {
  sourceCluster: string;
  targets: string[];
  hooks: string[];
  promotionTimeoutMs: number;
}

const secs = (ms: number) => `${+(ms / 1000).toFixed(3)} s`;

/** The cut as a person reads it; argv is shown quoted so spaces inside arguments stay visible. */
export function describeCut(cut: CutSpec, sourceCluster: string): string {
  const argv = (a: readonly string[]) => a.map((x) => (/^[\w@%+=:,./-]+$/.test(x) ? x : JSON.stringify(x))).join(' ');
  switch (cut.type) {
    case 'sandbox':
      return `stop the kube-apiserver process of sandbox context "${cut.context}" (${cut.dir}); undo: start it again with the same arguments and wait for /readyz`;
    case 'command':
      return `run ${argv(cut.run)} (no shell, timeout ${secs(cut.timeoutMs)}); undo: run ${argv(cut.undo)}`;
    case 'scale-to-zero':
      return `scale each application's workload in primary (${sourceCluster}) to 0 replicas; undo: restore the exact replica count (nothing is deleted or pruned)`;
    case 'cordon':
      return `cordon primary's (${sourceCluster}) nodes matching ${JSON.stringify(cut.nodeSelector)} that are schedulable (each marked with the annotation ${CORDON_ANNOTATION}), then delete the applications' pods on the matching nodes and wait until they are gone; undo: uncordon exactly the nodes the drill cordoned and wait for the workloads to be complete`;
  }
}

function stepLine(step: StepName, s: DrillScenario, ctx: PlanContext): string {
  const targets = ctx.targets.join(', ');
  switch (step) {
    case 'promote':
      return `record how many releases and seconds ${targets} is behind primary (RPO), then promote primary's current release there (deadline ${secs(ctx.promotionTimeoutMs)})`;
    case 'cut-primary':
      return `cut primary off: ${describeCut(s.cut, ctx.sourceCluster)}`;
    case 'verify-dr':
      return `probe ${targets} every 250 ms until it serves primary's last bundle (status digest, workload healthy${ctx.hooks.length ? `, post-hooks ${ctx.hooks.join(', ')}` : ''}); RTO = cut → verified, within the SLA`;
    case 'failback':
      return 'undo the cut, wait for primary to answer and its workloads to be complete, re-sync DR if primary moved on, verify both';
  }
}

/**
 * The plan `drill` prints without --yes (or with --dry-run): what it would do, in order, and how
 * the verdict is judged. Pure: it is built from the scenario and the config file alone.
 */
export function renderPlan(s: DrillScenario, ctx: PlanContext): string {
  const objectives = [
    s.objectives.rtoMs !== null ? `RTO ≤ ${secs(s.objectives.rtoMs)}` : undefined,
    s.objectives.rpoReleases !== null ? `RPO ≤ ${s.objectives.rpoReleases} release(s)` : undefined,
  ].filter((x) => x !== undefined);
  const lines = [
    `drill "${s.name}" (${s.file})`,
    `  config:       ${s.config} (primary ${ctx.sourceCluster}; DR ${ctx.targets.join(', ')})`,
    `  applications: ${s.applications.map((a) => `${a.namespace}/${a.name}`).join(', ')}`,
    `  SLA:          ${secs(s.slaMs)} from the cut to DR verified${objectives.length ? `; objectives ${objectives.join(', ')}` : ''}`,
    `  timeout:      ${secs(s.timeoutMs)} for the whole drill (the cut is undone on timeout, error, Ctrl-C or SIGTERM)`,
    ...(s.schedule ? [`  schedule:     ${s.schedule} (for a CronJob running drill --yes)`] : []),
    '  steps:',
    ...s.steps.map((step, i) => `    ${i + 1}. ${step}: ${stepLine(step, s, ctx)}`),
    ...(s.steps.includes('cut-primary') && !s.steps.includes('failback') ? ['    then: undo the cut (always, also without a failback step)'] : []),
    s.cut.type === 'cordon'
      ? "  refuses to start while a promotion is in flight; deletes nothing in primary but the applications' pods on the matching nodes (their ReplicaSets replace them)."
      : '  refuses to start while a promotion is in flight; never deletes or prunes anything in primary.',
  ];
  return lines.join('\n');
}
