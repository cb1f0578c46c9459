import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { githubReportingSettings } from '../config/github-env.js';
import { composeObservers, GitHubPromotionReporter } from '../github/promotion-reporter.js';
import type { Logger } from '../log.js';
import { Promoter } from '../promote/pipeline.js';
import { configTargetClients, sourceKubeConfig } from '../promote/targets.js';
import { readTokenFile } from '../server/auth.js';
import { startServer, type RunningServer } from '../server/http-server.js';
import { PLUGIN_PATH, pluginHandlerFromConfig, startPluginServer, type RunningPluginServer } from '../plugin/index.js';
import { RelayMetrics } from '../server/metrics.js';
import { describeScope, loadTrustPolicy, type ScopeDescription } from '../policy/index.js';
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
  const primary = sourceKubeConfig(config);
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
  // The blast radius of every signing key per target (design §3 scope): logged once and served in /readyz.
  const scopes = effectiveScopes(config);
  const handlers = {
    readiness: () => {
      const r = controller.readiness();
      return { ready: r.ready, detail: { ...r.detail, scopes } };
    },
    notify: (ref: { namespace: string; name: string }) => controller.notify(ref),
    applicationStatus: (namespace: string, name: string) => controller.applicationStatus(namespace, name),
  };
  const server = config.server
    ? await startServer({
      listen: config.server.listen, ...(notifyToken ? { notifyToken } : {}), ...(statusToken ? { statusToken } : {}),
      ...(plugin && !config.plugin?.listen ? { routes: { [PLUGIN_PATH]: plugin } } : {}),
    }, handlers, metrics, log.child({ component: 'http' }))
    : undefined;
  const pluginServer: RunningPluginServer | undefined = plugin && config.plugin?.listen ? await startPluginServer({ listen: config.plugin.listen, handler: plugin }) : undefined;
  await controller.start();
  log.info({
    source: config.source.cluster, targets: config.targets.map((t) => t.name), namespaces: config.watch.namespaces ?? 'all', selector: config.watch.selector,
    leaderElection: config.leaderElection ? `${config.leaderElection.namespace}/${config.leaderElection.leaseName}` : 'off', identity: controller.identity,
    listen: server ? `${server.host}:${server.port}` : 'off',
    plugin: pluginServer ? pluginServer.url : plugin ? 'on the server' : 'off',
  }, 'controller started');
  for (const scope of scopes) {
    log.info({ target: scope.target, threshold: scope.threshold, keys: scope.keys.map((k) => ({ key: k.key, keyId: k.keyId, counts: k.counts, scope: k.summary })) }, 'effective signing scope');
  }
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

/** Each target's effective scope under the trust policy, as plain JSON (the policy was validated at config load). */
function effectiveScopes(config: RelayConfig): ScopeDescription[] {
  const policy = loadTrustPolicy(config.trustPolicy);
  return config.targets.map((t) => describeScope(policy, { target: t.name }));
}
