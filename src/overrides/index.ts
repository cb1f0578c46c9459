/**
 * Per-target differences (design §9): a target's signed overrides (JSON merge patch, RFC 7386, and
 * JSON patch, RFC 6902, on objects picked by group/kind/namespace/name globs) and the fields it
 * never sends (`ignoreFields`, `spec.replicas` of workloads an HPA scales, `spec.selector` of Services
 * Argo Rollouts switches). Pure: plain objects in and out; the bundle carries the differences (src/bundle/overrides-file.ts), apply reads HPAs.
 */
export { applyOverrides, overrideIsFor, OverrideSet, type AppliedOverride, type OverrideSetOptions } from './apply-overrides.js';
export { applyMergePatch } from './merge-patch.js';
export { describeSelected, selectorMatches } from './select.js';
export { immutablePointers, valueAt } from './immutable-fields.js';
export {
  hpaScaleTargets, leaveOutFields, removeAt, REPLICAS_POINTER, rolloutHashLeftToRollouts, rolloutServices, ROLLOUT_HASH_POINTER, SELECTOR_POINTER, selectorLeftToRollouts, selectorManagers, type LeftOutField,
} from './ignore-fields.js';
