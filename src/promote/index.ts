/**
 * The promotion pipeline (design §1, §6, §9) shared by the controller and `promote`: `Promoter`,
 * its injected dependencies, the primary-side source record and the completion judgement.
 */
export { Promoter, type PromoteOptions, type PromoteRequest } from './pipeline.js';
export { nullLogger, type EventRecorder, type Logger, type PromoterDeps, type PromotionObserver, type WorkloadEventTarget } from './deps.js';
export { KubeEventRecorder, EVENT_COMPONENT, REASON_VERIFICATION_FAILED, REASON_PROMOTED, REASON_PROMOTION_FAILED } from './events.js';
export { SourceRecord, SOURCE_CONFIGMAP_PREFIX, sourceRecordFromData, sourceRecordToData, type SourceBundle, type SourceRecordData, type SourceTargetOutcome } from './source-record.js';
export { judgeCompletion, type Completion } from './completion.js';
export { promoteRolloutsFull, isRollout } from './rollouts-full.js';
export { configSigners } from './signers.js';
export { configTargetClients } from './targets.js';
export { withTargetLock } from './lock.js';
export { previewPromotion, type PromotionPreview } from './preview.js';
export type { CompletedRevision, PromotionResult, TargetOutcome, WorkloadRef } from './types.js';
