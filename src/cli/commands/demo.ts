import type { Command } from 'commander';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('bring up the local two-cluster sandbox and promote a workload from primary to DR')
    .option('--dir <dir>', 'sandbox state directory', '.sandbox')
    .action(async (opts: { dir: string }) => {
      const { runDemo } = await import('../../demo/run.js');
      await runDemo({ dir: opts.dir, out: process.stdout });
    });
}
