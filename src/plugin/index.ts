/**
 * The Argo CD ApplicationSet plugin generator (design §7): a node:http handler the controller's
 * server or the standalone `appset-plugin` command mounts, its fail-safe answer guard, and the
 * cluster reader behind it.
 */
export * from './params.js';
export { AnswerGuard, type AnswerGuardOptions, type GuardAnswer, type GuardState, type ReadResult } from './answer-guard.js';
export { SharedAnswerGuard, GUARD_STATE_KEY, guardStateData, type AnswerDecider, type GuardStateRef } from './shared-guard.js';
export { createPluginHandler, PLUGIN_PATH, type PluginHandlerOptions, type PluginLog } from './handler.js';
export { startPluginServer, parseListen, type PluginServerOptions, type RunningPluginServer } from './server.js';
export { ClusterStatusSource, pluginTarget, readStableRevision, type PluginTarget, type StatusSourceOptions } from './status-source.js';
export { pluginHandlerFromConfig, type PluginFromConfigOptions } from './from-config.js';
