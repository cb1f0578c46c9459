export { sandboxUp, sandboxDown, sandboxEnv, readState, checkHealth, DEFAULT_CLUSTERS } from './sandbox.js';
export type { SandboxState, SandboxOptions, SandboxHealth } from './sandbox.js';
export type { ClusterSpec, ClusterState } from './cluster.js';
export type { SandboxBinaries } from './binaries.js';
