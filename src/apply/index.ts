/**
 * The DR apply engine (design §4): pure planning (`plan.ts`) and health rules (`health.ts`), the
 * server-side applier with preflight, prune and rollback (`applier.ts`), and `applyBundleFile`,
 * which verifies first and applies only what verification returned.
 */
export * from './plan.js';
export * from './health.js';
export { Applier, ApplyError, type ApplyInput, type ApplyOptions, type ApplyReport, type ObjectPreview, type ObjectProblem, type ObjectResult } from './applier.js';
export { LastGoodStore, CHUNK_BYTES, MAX_CHUNKS } from './last-good.js';
export { applyBundleFile, type ApplyBundleOptions, type ApplyBundleResult } from './run.js';
