import { printableMessage } from './printable.js';

/**
 * Every refusal rollout-relay makes carries one of these stable codes. Callers (CLI exit codes,
 * controller retry decisions, status ConfigMap messages) branch on `code`, never on the message.
 */
export const ERROR_CODES = [
  // bundle and signature verification (design §2–3)
  'DIGEST_MISMATCH',
  'FILE_DIGEST_MISMATCH',
  'BAD_SIGNATURE',
  'UNKNOWN_KEY',
  'THRESHOLD_NOT_MET',
  'EXPIRED',
  'ROLLBACK',
  'TARGET_NOT_ALLOWED',
  'SOURCE_NOT_ALLOWED',
  'UNSAFE_ENTRY',
  'UNLISTED_ENTRY',
  'MISSING_ENTRY',
  'TOO_LARGE',
  'UNSUPPORTED_FORMAT',
  'MALFORMED',
  'INVALID_NAME',
  'OUT_OF_SCOPE',
  // keys and policy
  'KEY_INVALID',
  'POLICY_INVALID',
  // applying to a cluster (design §4)
  'PREFLIGHT_FAILED',
  'APPLY_FAILED',
  'APPLY_CONFLICT',
  'NOT_OWNED',
  'HEALTH_TIMEOUT',
  'ROLLED_BACK',
  'CLUSTER_UNREACHABLE',
  'STATUS_CONFLICT',
  // promotion (design §1, §6, §9)
  'WORKLOAD_NOT_FOUND',
  'EXPORT_FAILED',
  'NOT_COMPLETE',
  'SUPERSEDED',
  'PAUSED',
  'NOT_PAUSED',
  'DEADLINE_EXCEEDED',
  'PROMOTION_INTERRUPTED',
  // GitHub (design §7): source archives and promotion reports
  'GITHUB_UNAUTHORIZED',
  'GITHUB_NOT_FOUND',
  'GITHUB_RATE_LIMITED',
  'GITHUB_FAILED',
  // HTTP endpoints and the ApplicationSet plugin generator (design §7, §10)
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'PLUGIN_UNAVAILABLE',
  'DROP_BUDGET_EXCEEDED',
  // DR failover drills (design §8)
  'PROMOTION_IN_FLIGHT',
  'DRILL_IN_PROGRESS',
  'CUT_FAILED',
  'NO_MATCHING_NODES',
  // hooks, config, sandbox, CLI
  'HOOK_FAILED',
  'CONFIG_INVALID',
  'SANDBOX_FAILED',
  'USAGE',
] as const;

export type RelayErrorCode = (typeof ERROR_CODES)[number];

export class RelayError extends Error {
  constructor(
    readonly code: RelayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RelayError';
  }
}

export function isRelayError(err: unknown, code?: RelayErrorCode): err is RelayError {
  return err instanceof RelayError && (code === undefined || err.code === code);
}

/** The form the CLI prints on stderr: `error <CODE>: <message>`, untrusted text in it escaped. */
export function formatError(err: unknown): string {
  if (err instanceof RelayError) return `error ${err.code}: ${printableMessage(err.message)}`;
  const message = err instanceof Error ? err.message : String(err);
  return `error INTERNAL: ${printableMessage(message)}`;
}
