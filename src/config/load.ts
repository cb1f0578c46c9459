import { dirname, isAbsolute, resolve } from 'node:path';
import { parseStrictYaml } from '../strict-yaml.js';
import { z } from 'zod';
import { isDuration, parseDuration } from '../bundle/create.js';
import { ignoreFieldSchema, MAX_OVERRIDES, overrideName, overrideSchema, overridesPath } from '../bundle/overrides-file.js';
import { RelayError } from '../errors.js';
import { createHookRunner } from '../hooks/index.js';
import { loadTrustPolicy } from '../policy/trust-policy.js';
import { loadPrivateKey } from '../signing/keys.js';
import { readBoundedFileSync, MAX_KEY_FILE_BYTES, MAX_SETTINGS_FILE_BYTES } from '../bounded-file.js';
import { apiRequestTimeoutProblem, DEFAULT_API_REQUEST_TIMEOUT_MS } from './api-request-timeout.js';
import { isLabelSelector } from './selector.js';
import type { RelayConfig, SigningKeyRef, TargetConfig } from './types.js';

export const RELAY_CONFIG_API_VERSION = 'rollout-relay.io/v1';
export const RELAY_CONFIG_KIND = 'RelayConfig';
export const DEFAULT_SELECTOR = 'rollout-relay.io/promote=true';
export const DEFAULT_EVENT_REASONS = ['RolloutCompleted', 'RolloutSucceeded'];
export const DEFAULT_PROMOTION_TIMEOUT = '100s';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NS_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

const text = z.string().min(1, 'must not be empty');
const duration = z.string().refine(isDuration, 'must be a duration like 100s, 10m or 1h30m');
const dnsLabel = z.string().regex(DNS_LABEL, 'must be a DNS-1123 label (lower-case letters, digits, "-")');
const nsName = z.string().regex(NS_NAME, 'must be NAMESPACE/NAME');
/** Cluster names as trust policies and Argo CD use them (DNS-1123 subdomain). */
const clusterName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a lower-case DNS-1123 name');
const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, 'must be HOST:PORT');

const targetSchema = z.strictObject({
  name: clusterName,
  context: text.optional(),
  kubeconfig: text.optional(),
  clusterSecret: nsName.optional(),
  rollouts: z.enum(['full', 'steps']).default('full'),
  mode: z.enum(['apply', 'gate']).default('apply'),
  overrides: z.array(overrideSchema).max(MAX_OVERRIDES).default([]),
  ignoreFields: z.array(ignoreFieldSchema).max(MAX_OVERRIDES).default([]),
});

const signingKeySchema = z.union([text, z.strictObject({ secret: nsName, key: text })]);

const configSchema = z.strictObject({
  apiVersion: z.literal(RELAY_CONFIG_API_VERSION),
  kind: z.literal(RELAY_CONFIG_KIND),
  source: z.strictObject({ cluster: clusterName, context: text.optional(), kubeconfig: text.optional() }),
  watch: z.strictObject({
    namespaces: z.array(dnsLabel).min(1).optional(),
    selector: z.string().refine(isLabelSelector, 'must be a Kubernetes label selector such as app=web,tier in (a,b)').default(DEFAULT_SELECTOR),
    eventReasons: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be an Event reason (CamelCase)')).min(1).default(DEFAULT_EVENT_REASONS),
  }).prefault({}),
  export: z.strictObject({ includeSecrets: z.boolean().default(false) }).prefault({}),
  signing: z.strictObject({ keys: z.array(signingKeySchema).min(1, 'needs at least one signing key') }),
  trustPolicy: text,
  targets: z.array(targetSchema).min(1, 'needs at least one target'),
  hooks: z.unknown().optional(),
  onHookFailure: z.enum(['rollback', 'keep']).default('rollback'),
  timeouts: z.strictObject({ promotion: duration.default(DEFAULT_PROMOTION_TIMEOUT), apiRequest: duration.optional() }).prefault({}),
  server: z.strictObject({ listen: hostPort.default('127.0.0.1:8080'), tokenFile: text.optional(), statusTokenFile: text.optional() }).optional(),
  leaderElection: z.strictObject({
    namespace: dnsLabel.default('rollout-relay'),
    leaseName: z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a DNS-1123 name').default('rollout-relay'),
    leaseDuration: duration.default('15s'),
    renewDeadline: duration.default('10s'),
    retryPeriod: duration.default('2s'),
  }).optional(),
  argocd: z.strictObject({ namespace: dnsLabel.default('argocd') }).prefault({}),
  plugin: z.strictObject({
    listen: hostPort.optional(),
    tokenFile: text.optional(),
    cacheTTL: duration.default('10m'),
    maxDropShare: z.number().min(0).max(1).default(0.2),
    confirmReads: z.number().int().min(1).default(3),
    stateConfigMap: nsName.optional(),
  }).optional(),
  github: z.strictObject({
    repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be OWNER/REPO'),
    tokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').default('GITHUB_TOKEN'),
    deployments: z.boolean().default(false),
  }).optional(),
});

type ParsedConfig = z.infer<typeof configSchema>;

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  errors?: Issue[][];
}

/** One line per bad field: unknown keys are named, unions report the branch that matches the input's shape. */
function issueLines(issues: readonly Issue[], base: PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const i of issues) {
    const path = [...base, ...i.path];
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) out.push(`${pathText([...path, k])}: unknown field`);
    } else if (i.code === 'invalid_union' && i.errors?.length) {
      // The branch with the deepest issues is the one the author meant.
      const branch = [...i.errors].sort((a, b) => Math.max(...b.map((x) => x.path.length)) - Math.max(...a.map((x) => x.path.length)))[0]!;
      out.push(...issueLines(branch, path));
    } else {
      out.push(`${pathText(path)}: ${i.message}`);
    }
  }
  return out;
}

function deepFreeze<T>(v: T): T {
  if (Array.isArray(v)) {
    v.forEach(deepFreeze);
    return Object.freeze(v);
  }
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    Object.values(v).forEach(deepFreeze);
    return Object.freeze(v);
  }
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads and validates the RelayConfig of design §9 (`--config FILE`). Unknown fields and bad values
 * are refused with one CONFIG_INVALID that lists every bad field by path; defaults are filled in;
 * durations become ms; paths resolve against the file's directory; the trust policy, the signing key
 * files and the hooks are loaded and checked here too, so the controller refuses to start on them.
 * The result is frozen.
 */
export function loadRelayConfig(path: string): RelayConfig {
  const file = resolve(path);
  const baseDir = dirname(file);
  // Bounded: a path like /dev/zero or a FIFO is refused before anything is parsed.
  const textContent = readBoundedFileSync(file, { what: 'config', maxBytes: MAX_SETTINGS_FILE_BYTES, code: 'CONFIG_INVALID' }).toString('utf8');
  return parseRelayConfig(textContent, { file, baseDir });
}

/** The same over text already read; `file`/`baseDir` say where relative paths resolve. */
export function parseRelayConfig(textContent: string, where: { file: string; baseDir: string }): RelayConfig {
  const { file, baseDir } = where;
  const raw = parseStrictYaml(textContent, 'CONFIG_INVALID', file);
  const problems: string[] = [];
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) problems.push(...issueLines(parsed.error.issues as unknown as Issue[]));
  const rawObj = isRecord(raw) ? raw : {};
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));

  // Checks that need more than one field or the file system run on the raw input too, so one run
  // names every problem even when the schema already failed elsewhere.
  const rawTargets = Array.isArray(rawObj.targets) ? rawObj.targets : [];
  const names = new Set<string>();
  rawTargets.forEach((t, i) => {
    if (!isRecord(t)) return;
    const ways = ['context', 'clusterSecret'].filter((k) => t[k] !== undefined);
    if (ways.length !== 1) problems.push(`targets[${i}]: give exactly one of context or clusterSecret`);
    if (t.kubeconfig !== undefined && t.clusterSecret !== undefined) problems.push(`targets[${i}].kubeconfig: only meaningful with context`);
    if (typeof t.name === 'string') {
      if (names.has(t.name)) problems.push(`targets[${i}].name: "${t.name}" appears twice`);
      names.add(t.name);
    }
    const overrides = Array.isArray(t.overrides) ? t.overrides : [];
    const ignoreFields = Array.isArray(t.ignoreFields) ? t.ignoreFields : [];
    if ((overrides.length || ignoreFields.length) && typeof t.name === 'string') {
      try {
        overridesPath(t.name); // they travel as overrides/<name>.json inside the bundle
      } catch (err) {
        problems.push(`targets[${i}].name: ${(err as Error).message}`);
      }
    }
    const overrideNames = new Set<string>();
    overrides.forEach((o, j) => {
      if (!isRecord(o)) return;
      const n = overrideName(o as { name?: string }, j);
      if (overrideNames.has(n)) problems.push(`targets[${i}].overrides[${j}].name: "${n}" appears twice`);
      overrideNames.add(n);
    });
  });
  const le = rawObj.leaderElection;
  if (isRecord(le)) {
    const ms = (k: string, d: string) => {
      const v = le[k] ?? d;
      return typeof v === 'string' && isDuration(v) ? parseDuration(v) : undefined;
    };
    const [lease, renew, retry] = [ms('leaseDuration', '15s'), ms('renewDeadline', '10s'), ms('retryPeriod', '2s')];
    if (lease !== undefined && renew !== undefined && renew >= lease) problems.push('leaderElection.renewDeadline: must be shorter than leaseDuration');
    if (renew !== undefined && retry !== undefined && retry >= renew) problems.push('leaderElection.retryPeriod: must be shorter than renewDeadline');
  }
  problems.push(...apiRequestTimeoutProblems(rawObj.timeouts));
  if (typeof rawObj.trustPolicy === 'string' && rawObj.trustPolicy !== '') {
    try {
      loadTrustPolicy(abs(rawObj.trustPolicy));
    } catch (err) {
      problems.push(`trustPolicy: ${err instanceof RelayError ? `${err.code}: ${err.message}` : String(err)}`);
    }
  }
  const rawKeys = isRecord(rawObj.signing) && Array.isArray(rawObj.signing.keys) ? rawObj.signing.keys : [];
  rawKeys.forEach((k, i) => {
    if (typeof k !== 'string' || k === '') return;
    const p = abs(k);
    let pem: Buffer;
    try {
      // A small regular file only: a path like /dev/zero would read until memory runs out.
      pem = readBoundedFileSync(p, { what: 'signing key', maxBytes: MAX_KEY_FILE_BYTES, code: 'CONFIG_INVALID' });
    } catch (err) {
      problems.push(`signing.keys[${i}]: ${(err as Error).message}`);
      return;
    }
    try {
      loadPrivateKey(pem, p);
    } catch (err) {
      problems.push(`signing.keys[${i}]: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  let hooks = createHookRunner(undefined, { baseDir });
  try {
    hooks = createHookRunner(rawObj.hooks, { baseDir, where: 'hooks' });
  } catch (err) {
    problems.push(err instanceof RelayError && err.code === 'CONFIG_INVALID' ? err.message : `hooks: ${err instanceof Error ? err.message : String(err)}`);
  }

  if (problems.length || !parsed.success) {
    const unique = [...new Set(problems)];
    throw new RelayError('CONFIG_INVALID', `${file}: ${unique.length} problem${unique.length === 1 ? '' : 's'}:\n  ${unique.join('\n  ')}`);
  }
  return deepFreeze(build(parsed.data, { file, baseDir, abs, hooks }));
}

function build(c: ParsedConfig, ctx: { file: string; baseDir: string; abs: (p: string) => string; hooks: RelayConfig['hooks'] }): RelayConfig {
  const { abs } = ctx;
  const keys: SigningKeyRef[] = c.signing.keys.map((k) => {
    if (typeof k === 'string') return { file: abs(k) };
    const [namespace, name] = k.secret.split('/') as [string, string];
    return { secret: { namespace, name }, key: k.key };
  });
  const targets: TargetConfig[] = c.targets.map((t) => ({
    name: t.name,
    ...(t.context !== undefined ? { context: t.context } : {}),
    ...(t.kubeconfig !== undefined ? { kubeconfig: abs(t.kubeconfig) } : {}),
    ...(t.clusterSecret !== undefined ? { clusterSecret: { namespace: t.clusterSecret.split('/')[0]!, name: t.clusterSecret.split('/')[1]! } } : {}),
    rollouts: t.rollouts,
    mode: t.mode,
    overrides: t.overrides,
    ignoreFields: t.ignoreFields,
  }));
  return {
    file: ctx.file,
    baseDir: ctx.baseDir,
    source: {
      cluster: c.source.cluster,
      ...(c.source.context !== undefined ? { context: c.source.context } : {}),
      ...(c.source.kubeconfig !== undefined ? { kubeconfig: abs(c.source.kubeconfig) } : {}),
    },
    watch: {
      ...(c.watch.namespaces ? { namespaces: [...new Set(c.watch.namespaces)] } : {}),
      selector: c.watch.selector,
      eventReasons: c.watch.eventReasons,
    },
    export: { includeSecrets: c.export.includeSecrets },
    signing: { keys },
    trustPolicy: abs(c.trustPolicy),
    targets,
    hooks: ctx.hooks,
    onHookFailure: c.onHookFailure,
    timeouts: apiRequestTimeouts(c.timeouts),
    ...(c.server ? {
      server: {
        listen: c.server.listen,
        ...(c.server.tokenFile !== undefined ? { tokenFile: abs(c.server.tokenFile) } : {}),
        ...(c.server.statusTokenFile !== undefined ? { statusTokenFile: abs(c.server.statusTokenFile) } : {}),
      },
    } : {}),
    ...(c.leaderElection ? {
      leaderElection: {
        namespace: c.leaderElection.namespace,
        leaseName: c.leaderElection.leaseName,
        leaseDurationMs: parseDuration(c.leaderElection.leaseDuration),
        renewDeadlineMs: parseDuration(c.leaderElection.renewDeadline),
        retryPeriodMs: parseDuration(c.leaderElection.retryPeriod),
      },
    } : {}),
    argocd: { namespace: c.argocd.namespace },
    ...(c.plugin ? {
      plugin: {
        ...(c.plugin.listen !== undefined ? { listen: c.plugin.listen } : {}),
        ...(c.plugin.tokenFile !== undefined ? { tokenFile: abs(c.plugin.tokenFile) } : {}),
        cacheTtlMs: parseDuration(c.plugin.cacheTTL),
        maxDropShare: c.plugin.maxDropShare,
        confirmReads: c.plugin.confirmReads,
        ...pluginStateConfigMap(c.plugin.stateConfigMap, c.leaderElection?.namespace),
      },
    } : {}),
    ...(c.github ? { github: { repo: c.github.repo, tokenEnv: c.github.tokenEnv, deployments: c.github.deployments } } : {}),
  };
}

/** timeouts.apiRequest within [1 s, timeouts.promotion] (see api-request-timeout.ts; a bad duration is the schema's to report). */
function apiRequestTimeoutProblems(timeouts: unknown): string[] {
  if (!isRecord(timeouts) || typeof timeouts.apiRequest !== 'string' || !isDuration(timeouts.apiRequest)) return [];
  const promotion = timeouts.promotion ?? DEFAULT_PROMOTION_TIMEOUT;
  const bound = typeof promotion === 'string' && isDuration(promotion) ? { ms: parseDuration(promotion), given: promotion } : undefined;
  const problem = apiRequestTimeoutProblem(parseDuration(timeouts.apiRequest), timeouts.apiRequest, bound);
  return problem ? [`timeouts.apiRequest: ${problem}`] : [];
}

/** Durations in ms; the request timeout's default is 60 s, or the promotion timeout when that is shorter. */
function apiRequestTimeouts(t: ParsedConfig['timeouts']): RelayConfig['timeouts'] {
  const promotionMs = parseDuration(t.promotion);
  const apiRequestMs = t.apiRequest !== undefined ? parseDuration(t.apiRequest) : Math.min(DEFAULT_API_REQUEST_TIMEOUT_MS, promotionMs);
  return { promotionMs, apiRequestMs };
}

/**
 * Where the plugin keeps its guard's memory (docs/plugin.md): `plugin.stateConfigMap`, else beside
 * the leader-election Lease (a replicated controller), else nowhere (one process: in memory).
 */
function pluginStateConfigMap(explicit: string | undefined, leaseNamespace: string | undefined): { stateConfigMap?: { namespace: string; name: string } } {
  if (explicit) {
    const [namespace, name] = explicit.split('/') as [string, string];
    return { stateConfigMap: { namespace, name } };
  }
  return leaseNamespace ? { stateConfigMap: { namespace: leaseNamespace, name: 'rollout-relay-plugin-state' } } : {};
}
