import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { RelayError } from '../errors.js';
import type { RelayConfig } from '../config/types.js';
import { configTargetClients } from '../promote/targets.js';
import { readTokenFile } from '../server/auth.js';
import { AnswerGuard } from './answer-guard.js';
import { SharedAnswerGuard } from './shared-guard.js';
import { createPluginHandler, type PluginLog } from './handler.js';
import { ClusterStatusSource, pluginTarget } from './status-source.js';

export interface PluginFromConfigOptions {
  /** Token file; default: the config's plugin.tokenFile. */
  tokenFile?: string;
  log?: PluginLog;
}

/**
 * The plugin endpoint for a RelayConfig: its targets (kubeconfig contexts or Argo CD cluster
 * Secrets, resolved on every read), the watched namespaces, the plugin token and the cache and
 * drop-budget settings of `plugin:`. The controller's server and `appset-plugin` both use it.
 */
export function pluginHandlerFromConfig(config: RelayConfig, primary: KubeConfig, opts: PluginFromConfigOptions = {}): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const tokenFile = opts.tokenFile ?? config.plugin?.tokenFile;
  if (!tokenFile) throw new RelayError('CONFIG_INVALID', 'the plugin needs its own token: set plugin.tokenFile in the config (or pass --token-file)');
  const token = readTokenFile(tokenFile, 'plugin.tokenFile');
  const clientFor = configTargetClients(primary);
  const source = new ClusterStatusSource({
    primary,
    targets: () => Promise.all(config.targets.map(async (t) => pluginTarget(t.name, (await clientFor(t)).kubeConfig))),
    ...(config.watch.namespaces ? { namespaces: config.watch.namespaces } : {}),
  });
  const guard = new AnswerGuard({
    ...(config.plugin ? { cacheTtlMs: config.plugin.cacheTtlMs, maxDropShare: config.plugin.maxDropShare, confirmReads: config.plugin.confirmReads } : {}),
  });
  const shared = config.plugin?.stateConfigMap;
  return createPluginHandler({
    token,
    guard: shared ? new SharedAnswerGuard(guard, primary, shared, opts.log) : guard,
    read: (filter) => source.read(filter),
    ...(opts.log ? { log: opts.log } : {}),
  });
}
