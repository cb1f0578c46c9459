import type { Command } from 'commander';

interface ControllerCliOptions {
  config: string;
  logLevel: string;
}

export function registerController(program: Command): void {
  program
    .command('controller')
    .description('watch the primary and promote every finished rollout to the DR targets (design §1, §10)')
    .requiredOption('--config <file>', 'the RelayConfig (YAML)')
    .option('--log-level <level>', 'JSON log level: debug, info, warn, error', 'info')
    .action(async (opts: ControllerCliOptions) => {
      // Loaded on use: the Kubernetes client is slow to load and --help does not need it.
      const [{ loadRelayConfig }, { createLogger }, { startController }] = await Promise.all([
        import('../../config/load.js'), import('../../log.js'), import('../../controller/run.js'),
      ]);
      // CONFIG_INVALID (and unreadable token files) refuse the start with exit 1 before anything runs.
      const config = loadRelayConfig(opts.config);
      const log = createLogger({ level: opts.logLevel });
      const running = await startController(config, { log });
      await new Promise<void>((resolve) => {
        let stopping = false;
        const shutdown = (signal: NodeJS.Signals) => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, 'shutting down');
          running.stop().then(resolve, (err: unknown) => {
            log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
            resolve();
          });
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      });
      // Idle keep-alive sockets of the API clients must not hold the exit back.
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
    });
}
