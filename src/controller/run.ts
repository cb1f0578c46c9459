import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { loadKubeConfig } from '../cluster/kubeconfig.js';
import { githubReportingSettings } from '../config/github-env.js';
import { composeObservers, GitHubPromotionReporter } from '../github/promotion-reporter.js';
import type { Logger } from '../log.js';
import { Promoter } from '../promote/pipeline.js';
import { configTargetClients } from '../promote/targets.js';
import { readTokenFile } from '../server/auth.js';
import { startServer, type RunningServer } from '../server/http-server.js';
import { PLUGIN_PATH, pluginHandlerFromConfig, startPluginServer, type RunningPluginServer } from '../plugin/index.js';
import { RelayMetrics } from '../server/metrics.js';
import { Controller, type ControllerOptions } from './controller.js';

export interface RunningController {
  controller: Controller;
  metrics: RelayMetrics;
  server: RunningServer | undefined;
  /** Graceful stop: promotions get their grace period, the Lease is released, the server closes. */
  stop(): Promise<void>;
}

export interface StartControllerOptions {
  log: Logger;
  /** Overrides for tests and benchmarks (identity, concurrency, retry timings). */
  tuning?: Partial<Pick<ControllerOptions, 'identity' | 'concurrency' | 'retryInitialMs' | 'retryMaxMs' | 'resyncIntervalMs' | 'shutdownGraceMs'>>;
}

/**
 * Wires the controller from a validated RelayConfig: clients for the primary and every target,
 * the pipeline (with metrics as its observer), the HTTP endpoints, and starts watching. Tokens are
 * read here, once, so a missing token file refuses the start with CONFIG_INVALID.
 */
export async function startController(config: RelayConfig, opts: StartControllerOptions): Promise<RunningController> {
  const log = opts.log;
  const notifyToken = config.server?.tokenFile ? readTokenFile(config.server.tokenFile, 'server.tokenFile') : undefined;
  const statusToken = config.server?.statusTokenFile ? readTokenFile(config.server.statusTokenFile, 'server.statusTokenFile') : undefined;
  const primary = loadKubeConfig({ ...(config.source.kubeconfig ? { kubeconfig: config.source.kubeconfig } : {}), ...(config.source.context ? { context: config.source.context } : {}) });
  const clientFor = configTargetClients(primary);
  const targets = await Promise.all(config.targets.map((t) => clientFor(t)));

  // The metrics read the controller lazily (at scrape time), so it can be created after them.
  const ref: { controller?: Controller } = {};
  const metrics = new RelayMetrics({ queueDepth: () => ref.controller?.queueDepth ?? 0, lag: () => ref.controller?.lagSamples() ?? [] });
  // GitHub reporting (config github:) rides on the same observer hook; its failures are logged, never fatal.
  const github = config.github ? new GitHubPromotionReporter(githubReportingSettings(config.github), log.child({ component: 'github' })) : undefined;
  if (github) github.keepFinished = false;
  const promoter = new Promoter(config, { primary, logger: log.child({ component: 'pipeline' }), observer: composeObservers(metrics, github?.observer()) });
  const controller = new Controller({
    config, primary, targets, promoter, log, metrics, ...opts.tuning,
  });
  ref.controller = controller;
  // The ApplicationSet plugin generator (config plugin:): on the server's port, or on its own listener.
  const plugin = config.plugin ? pluginHandlerFromConfig(config, primary, { log: log.child({ component: 'appset-plugin' }) }) : undefined;
  if (plugin && !config.plugin?.listen && !config.server) {
    throw new RelayError('CONFIG_INVALID', 'plugin: needs plugin.listen or a server: section to be served on');
  }
  const server = config.server
    ? await startServer({
      listen: config.server.listen, ...(notifyToken ? { notifyToken } : {}), ...(statusToken ? { statusToken } : {}),
      ...(plugin && !config.plugin?.listen ? { routes: { [PLUGIN_PATH]: plugin } } : {}),
    }, controller, metrics, log.child({ component: 'http' }))
    : undefined;
  const pluginServer: RunningPluginServer | undefined = plugin && config.plugin?.listen ? await startPluginServer({ listen: config.plugin.listen, handler: plugin }) : undefined;
  await controller.start();
  log.info({
    source: config.source.cluster, targets: config.targets.map((t) => t.name), namespaces: config.watch.namespaces ?? 'all', selector: config.watch.selector,
    leaderElection: config.leaderElection ? `${config.leaderElection.namespace}/${config.leaderElection.leaseName}` : 'off', identity: controller.identity,
    listen: server ? `${server.host}:${server.port}` : 'off',
    plugin: pluginServer ? pluginServer.url : plugin ? 'on the server' : 'off',
  }, 'controller started');
  const c = controller;
  return {
    controller,
    metrics,
    server,
    async stop() {
      await c.stop();
      await github?.flush();
      await server?.close();
      await pluginServer?.close();
      log.info({}, 'controller stopped');
    },
  };
}
