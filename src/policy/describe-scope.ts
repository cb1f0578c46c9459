import { formatGroupKind, RESERVED_PREFIX, type GroupKind, type ScopeRules } from './scope-rules.js';
import type { TrustPolicy } from './trust-policy.js';

/**
 * The blast radius of every key, as plain JSON: what the controller logs per target at start and
 * shows in /readyz, and what `rollout-relay policy scope --policy FILE` prints.
 */

/** One layer of rules with defaults made explicit. */
export interface ScopeSummary {
  /** Namespace globs (`!` excludes); `<application namespace>` stands for each bundle's own. */
  namespaces: string[] | 'any';
  /** Cluster-scoped kinds as "group/Kind" ("core" for the core group); the application's own Namespace object is always allowed. */
  clusterResources: string[] | 'any';
  clusterResourceDeny: string[];
  namespaceResources: string[] | 'any';
  namespaceResourceDeny: string[];
}

export interface KeyScopeDescription {
  key: string;
  keyId: string;
  /** Whether this key's signature can count for the target (not revoked, target allowed). */
  counts: boolean;
  /** Layers that must all allow an object: the policy-wide scope, then the key's own when it has one. */
  layers: { from: 'policy' | 'default' | 'key'; scope: ScopeSummary }[];
  /** One line for logs. */
  summary: string;
}

export interface ScopeDescription {
  /** false only for a policy made from bare keys (`bundle verify --key`). */
  enforced: boolean;
  /** An object must be allowed by this many of the keys that signed. */
  threshold: number;
  target?: string;
  application?: string;
  /** Objects no bundle may write, whatever the scope. */
  reserved: string[];
  keys: KeyScopeDescription[];
}

const APP_NS = '<application namespace>';
const list = (gks: GroupKind[] | undefined): string[] => (gks ?? []).map((g) => formatGroupKind(g.group, g.kind));

function summarise(rules: ScopeRules, layer: 'policy' | 'default' | 'key', applicationNamespace: string): ScopeSummary {
  const isKey = layer === 'key';
  return {
    namespaces: rules.namespaces ?? (isKey ? 'any' : [applicationNamespace]),
    clusterResources: rules.clusterResources ? list(rules.clusterResources) : isKey ? 'any' : [],
    clusterResourceDeny: list(rules.clusterResourceDeny),
    namespaceResources: rules.namespaceResources ? list(rules.namespaceResources) : 'any',
    namespaceResourceDeny: list(rules.namespaceResourceDeny),
  };
}

function line(s: ScopeSummary): string {
  const show = (v: string[] | 'any', none: string) => (v === 'any' ? 'any' : v.length ? v.join(', ') : none);
  const parts = [`namespaces ${show(s.namespaces, 'none')}`, `cluster kinds ${show(s.clusterResources, "none (the application's Namespace only)")}`];
  if (s.clusterResourceDeny.length) parts.push(`cluster kinds denied ${s.clusterResourceDeny.join(', ')}`);
  if (s.namespaceResources !== 'any') parts.push(`namespaced kinds ${show(s.namespaceResources, 'none')}`);
  if (s.namespaceResourceDeny.length) parts.push(`namespaced kinds denied ${s.namespaceResourceDeny.join(', ')}`);
  return parts.join('; ');
}

/**
 * Each key's effective scope for a target (and, when given, one application: its namespace replaces
 * the `<application namespace>` placeholder of the default scope).
 */
export function describeScope(policy: TrustPolicy, options: { target?: string; application?: string } = {}): ScopeDescription {
  const appNs = options.application?.split('/')[0] || APP_NS;
  const wideFrom = policy.scope?.namespaces === undefined ? 'default' : 'policy';
  const wide = summarise(policy.scope ?? {}, wideFrom, appNs);
  return {
    enforced: policy.scopeCheck !== 'off',
    threshold: policy.threshold,
    ...(options.target !== undefined ? { target: options.target } : {}),
    ...(options.application !== undefined ? { application: options.application } : {}),
    reserved: [`ConfigMap ${RESERVED_PREFIX}*`, `Secret ${RESERVED_PREFIX}*`],
    keys: policy.keys.map((k) => {
      const layers: KeyScopeDescription['layers'] = [{ from: wideFrom, scope: wide }];
      if (k.scope) layers.push({ from: 'key', scope: summarise(k.scope, 'key', appNs) });
      const counts = !k.revoked && (options.target === undefined || !k.targets || k.targets.includes(options.target));
      const summary = policy.scopeCheck === 'off'
        ? 'not checked (no trust policy file)'
        : layers.map((l) => (l.from === 'key' ? `narrowed by the key to: ${line(l.scope)}` : line(l.scope))).join(' | ');
      return { key: k.name, keyId: k.keyId, counts, layers, summary: counts ? summary : `does not count${k.revoked ? ' (revoked)' : ` for target ${options.target}`}; ${summary}` };
    }),
  };
}
