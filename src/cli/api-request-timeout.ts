import { parseDuration } from '../bundle/create.js';
import { apiRequestTimeoutProblem, DEFAULT_API_REQUEST_TIMEOUT_MS } from '../config/api-request-timeout.js';
import { RelayError } from '../errors.js';

/**
 * `--api-request-timeout`: the bound of each Kubernetes API request for commands that take a
 * kubeconfig but no RelayConfig (whose timeouts.apiRequest says the same).
 */
export const API_REQUEST_TIMEOUT_FLAG = '--api-request-timeout <duration>';
export const API_REQUEST_TIMEOUT_HELP = `bound of each Kubernetes API request, at least 1s (default: ${DEFAULT_API_REQUEST_TIMEOUT_MS / 1000}s)`;

/** The option as kubeconfig options: nothing when not given (the transport's default); USAGE when out of bounds. */
export function apiRequestTimeoutOption(text: string | undefined): { requestTimeoutMs?: number } {
  if (text === undefined) return {};
  const ms = parseDuration(text);
  const problem = apiRequestTimeoutProblem(ms, text);
  if (problem) throw new RelayError('USAGE', `--api-request-timeout ${problem}`);
  return { requestTimeoutMs: ms };
}
