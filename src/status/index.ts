/**
 * The DR-side status contract (design §6): a pure model (`model.ts`) and a ConfigMap writer with
 * optimistic concurrency (`writer.ts`).
 */
export * from './model.js';
export { StatusWriter, type StoredStatus, type StatusWriterOptions } from './writer.js';
export { StatusSequenceStore } from './sequence-store.js';
