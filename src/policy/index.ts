/**
 * Trust policy (design §3): which keys are trusted, how many must sign, for which clusters, and the
 * replay/rollback state per (application, target). Pure apart from reading key files.
 *
 * - `loadTrustPolicy(path)` / `parseTrustPolicy(text, {baseDir})` → `TrustPolicy`
 * - `policyFromPublicKeys([{pem, origin}], threshold)` → the policy behind `bundle verify --key`
 * - `decideSignatures(checks, policy, {source, target})` → counted key ids, or a coded refusal
 * - `checkBundleMetadata(meta, {target, now})`, `checkSequence(store, meta, target)`
 * - `SequenceStateStore` with `JsonFileSequenceStore` (CLI) and `MemorySequenceStore` (tests)
 * - scope (design §3): `BundleScope` (what the counted keys allow; OUT_OF_SCOPE), `describeScope(policy,
 *   {target, application})` (each key's effective scope as JSON), `scopeFromAppProject(appProject)`
 */
export { loadTrustPolicy, parseTrustPolicy, policyFromPublicKeys, trustPolicySchema, DEFAULT_MAX_BUNDLE_BYTES, POLICY_API_VERSION, POLICY_KIND, type PolicyKey, type PolicyLoadOptions, type TrustPolicy } from './trust-policy.js';
export { checkBundleMetadata, checkSequence, decideSignatures, type SignatureDecision } from './evaluate.js';
export { JsonFileSequenceStore, MemorySequenceStore, type SequenceStateStore } from './state-store.js';
export { BundleScope, OutOfScopeError, ScopeCheck, type KindResolver, type ScopeGuard, type ScopeViolation } from './scope.js';
export { builtinKindScope, globMatch, namespaceMatches, scopeRulesSchema, type GroupKind, type KindScope, type ScopeRules } from './scope-rules.js';
export { describeScope, type KeyScopeDescription, type ScopeDescription, type ScopeSummary } from './describe-scope.js';
export { scopeFromAppProject, type AppProjectScope } from './appproject.js';
