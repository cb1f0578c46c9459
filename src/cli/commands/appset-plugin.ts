import { readBoundedFileSync, MAX_KEY_FILE_BYTES } from '../../bounded-file.js';
import type { Command } from 'commander';
import { RelayError } from '../../errors.js';

interface AppsetPluginCliOptions {
  config: string;
  listen?: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function readPem(path: string, flag: string): string {
  return readBoundedFileSync(path, { field: flag, what: 'PEM', maxBytes: MAX_KEY_FILE_BYTES, code: 'USAGE' }).toString('utf8');
}

/** `rollout-relay appset-plugin`: the ApplicationSet plugin generator on its own listener, until SIGTERM. */
export function registerAppsetPlugin(program: Command): void {
  program
    .command('appset-plugin')
    .description('serve the Argo CD ApplicationSet plugin generator: one entry per DR target with the verified commit (POST /api/v1/getparams.execute)')
    .requiredOption('--config <file>', 'the RelayConfig (targets, plugin settings)')
    .option('--listen <host:port>', 'address to listen on (default: plugin.listen of the config)')
    .option('--token-file <file>', 'the plugin\'s bearer token (default: plugin.tokenFile of the config)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate chain (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .action(async (opts: AppsetPluginCliOptions) => {
      if (!!opts.tlsCert !== !!opts.tlsKey) throw new RelayError('USAGE', '--tls-cert and --tls-key go together');
      // Read first: a wrong path is refused before the config and the cluster are.
      const tls = opts.tlsCert && opts.tlsKey ? { cert: readPem(opts.tlsCert, '--tls-cert'), key: readPem(opts.tlsKey, '--tls-key') } : undefined;
      const [{ loadRelayConfig }, { sourceKubeConfig }, { pluginHandlerFromConfig, startPluginServer }, { createLogger }] = await Promise.all([
        import('../../config/load.js'), import('../../promote/targets.js'), import('../../plugin/index.js'), import('../../log.js'),
      ]);
      const config = loadRelayConfig(opts.config);
      const listen = opts.listen ?? config.plugin?.listen;
      if (!listen) throw new RelayError('USAGE', 'give --listen HOST:PORT or set plugin.listen in the config');
      const primary = sourceKubeConfig(config);
      const log = createLogger().child({ component: 'appset-plugin' });
      const handler = pluginHandlerFromConfig(config, primary, { ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}), log });
      const server = await startPluginServer({ listen, handler, ...(tls ? { tls } : {}) });
      log.info({ url: server.url, targets: config.targets.map((t) => t.name) }, 'appset plugin listening');
      process.stderr.write(`appset-plugin listening on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await server.close();
    });
}
