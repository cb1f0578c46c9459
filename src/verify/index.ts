/**
 * Bundle trust operations combining src/bundle, src/signing and src/policy.
 *
 * For the apply engine:
 *
 * ```ts
 * import { verifyBundleFile } from '../verify/index.js';
 * const verified = await verifyBundleFile({
 *   bundlePath, signaturePath,            // signaturePath defaults to `${bundlePath}.sig.json`
 *   policy,                               // loadTrustPolicy(path) from src/policy
 *   target: 'shenzhen',                   // the DR cluster being applied to
 *   stateStore,                           // SequenceStateStore; omit only to skip the replay check
 *   commitSequence: false,                // record after a successful apply with stateStore.put(...)
 * });
 * // VerifiedBundle { index, objects (apply order), digest, keyIds, keyNames, threshold, sequenceCheck, ... }
 * ```
 *
 * It throws a RelayError whose `code` names the refusal (see verifyBundleSource). Apply only
 * `verified.objects`, never objects read any other way.
 */
export {
  readEnvelopeFile,
  verifyBundleBytes,
  verifyBundleFile,
  verifyBundleSource,
  type VerifiedBundle,
  type VerifyBundleFileOptions,
  type VerifyOptions,
} from './verify-bundle.js';
export { signBundleFile, type SignedBundle } from './sign-bundle.js';
