import type { Command } from 'commander';

// Loaded on use: the sandbox pulls in the Kubernetes client, which --help and other commands don't need.
const sandboxModule = () => import('../../sandbox/index.js');

interface DirOption {
  dir: string;
}

export function registerSandbox(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('run a local, real two-cluster Kubernetes control plane (primary + dr) for demos and tests');
  const dirOption = ['--dir <dir>', 'sandbox state directory', '.sandbox'] as const;

  sandbox
    .command('up')
    .description('build (first time) and start both clusters; idempotent')
    .option(...dirOption)
    .action(async (opts: DirOption) => {
      const state = await (await sandboxModule()).sandboxUp({ dir: opts.dir });
      process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
    });

  sandbox
    .command('down')
    .description('stop every sandbox process and remove its state')
    .option(...dirOption)
    .action(async (opts: DirOption) => {
      await (await sandboxModule()).sandboxDown({ dir: opts.dir });
    });

  sandbox
    .command('status')
    .description('show whether the sandbox runs and is healthy')
    .option(...dirOption)
    .option('--json', 'machine-readable output')
    .action(async (opts: DirOption & { json?: boolean }) => {
      const { readState, checkHealth } = await sandboxModule();
      const state = readState(opts.dir);
      if (!state) {
        if (opts.json) process.stdout.write(JSON.stringify({ running: false }) + '\n');
        else process.stdout.write(`no sandbox in ${opts.dir}\n`);
        process.exitCode = 1;
        return;
      }
      const health = await checkHealth(state);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ running: true, ...health, kubeconfig: state.kubeconfig, clusters: state.clusters.map((c) => ({ context: c.spec.context, name: c.spec.clusterName, server: c.server })) }) + '\n');
      } else {
        for (const c of state.clusters) process.stdout.write(`${c.spec.context.padEnd(8)} ${c.spec.clusterName.padEnd(10)} ${c.server}\n`);
        process.stdout.write(health.healthy ? 'healthy\n' : `unhealthy:\n  ${health.problems.join('\n  ')}\n`);
      }
      if (!health.healthy) process.exitCode = 1;
    });

  sandbox
    .command('env')
    .description('print `export KUBECONFIG=...` (and kubectl on PATH) for a shell: eval "$(rollout-relay sandbox env)"')
    .option(...dirOption)
    .action(async (opts: DirOption) => {
      process.stdout.write((await sandboxModule()).sandboxEnv({ dir: opts.dir }) + '\n');
    });
}
