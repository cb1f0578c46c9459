import { RelayError } from '../errors.js';
import { globMatch, scopeRulesSchema, type GroupKind, type ScopeRules } from './scope-rules.js';

/**
 * An Argo CD AppProject turned into a trust-policy scope, so teams reuse the boundaries they already
 * wrote: `destinations[].namespace` → namespaces, `clusterResourceWhitelist` → clusterResources,
 * `clusterResourceBlacklist` → clusterResourceDeny, `namespaceResourceWhitelist` → namespaceResources,
 * `namespaceResourceBlacklist` → namespaceResourceDeny. Anything a scope cannot express is turned
 * into the stricter reading and reported in `warnings`.
 */
export interface AppProjectScope {
  scope: ScopeRules;
  warnings: string[];
}

interface RawItem {
  group?: unknown;
  kind?: unknown;
  name?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function items(spec: Record<string, unknown>, field: string, where: string): RawItem[] {
  const v = spec[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every(isRecord)) throw new RelayError('CONFIG_INVALID', `${where}: spec.${field} is not a list of objects`);
  return v as RawItem[];
}

function groupKinds(raw: RawItem[], field: string, where: string, onName: 'skip' | 'widen', warnings: string[]): GroupKind[] {
  const out: GroupKind[] = [];
  for (const r of raw) {
    const group = typeof r.group === 'string' ? r.group : '';
    if (typeof r.kind !== 'string' || r.kind === '') throw new RelayError('CONFIG_INVALID', `${where}: an entry of spec.${field} has no kind`);
    if (typeof r.name === 'string' && r.name !== '' && r.name !== '*') {
      // A scope has no per-name rules: leave an allow-entry out, widen a deny-entry to the whole kind.
      warnings.push(onName === 'skip'
        ? `spec.${field} allows ${r.kind} only by name "${r.name}"; a scope cannot name objects, so the kind is left out (not allowed)`
        : `spec.${field} denies ${r.kind} by name "${r.name}"; a scope cannot name objects, so the whole kind is denied`);
      if (onName === 'skip') continue;
    }
    if (!out.some((g) => g.group === group && g.kind === r.kind)) out.push({ group, kind: r.kind });
  }
  return out;
}

/**
 * The scope of an AppProject object (as read from the API server). `cluster` keeps only destinations
 * whose `name` or `server` matches it (a glob in the AppProject may match it); omitted = all.
 */
export function scopeFromAppProject(project: unknown, options: { cluster?: string } = {}): AppProjectScope {
  const meta = isRecord(project) && isRecord(project.metadata) ? project.metadata : {};
  const where = `AppProject ${String(meta.namespace ?? '?')}/${String(meta.name ?? '?')}`;
  if (!isRecord(project) || project.kind !== 'AppProject' || !isRecord(project.spec)) {
    throw new RelayError('CONFIG_INVALID', `${where}: not an Argo CD AppProject with a spec`);
  }
  const spec = project.spec;
  const warnings: string[] = [];
  const namespaces: string[] = [];
  for (const d of items(spec, 'destinations', where) as Record<string, unknown>[]) {
    if (options.cluster !== undefined) {
      const names = [d.name, d.server].filter((v): v is string => typeof v === 'string' && v !== '');
      if (!names.some((n) => globMatch(n, options.cluster!))) continue;
    }
    const ns = d.namespace;
    if (typeof ns !== 'string' || ns === '') {
      warnings.push(`a destination${typeof d.name === 'string' ? ` of cluster ${d.name}` : ''} has no namespace; it allows no namespace here`);
      continue;
    }
    if (!namespaces.includes(ns)) namespaces.push(ns);
  }
  if (namespaces.length === 0) warnings.push(`no destination${options.cluster !== undefined ? ` for cluster ${options.cluster}` : ''} names a namespace: the scope allows no namespace`);
  const scope: ScopeRules = {
    namespaces,
    clusterResources: groupKinds(items(spec, 'clusterResourceWhitelist', where), 'clusterResourceWhitelist', where, 'skip', warnings),
  };
  const clusterDeny = groupKinds(items(spec, 'clusterResourceBlacklist', where), 'clusterResourceBlacklist', where, 'widen', warnings);
  if (clusterDeny.length) scope.clusterResourceDeny = clusterDeny;
  // Argo CD: an empty namespaceResourceWhitelist allows every namespaced kind.
  const nsAllowRaw = items(spec, 'namespaceResourceWhitelist', where);
  if (nsAllowRaw.length) scope.namespaceResources = groupKinds(nsAllowRaw, 'namespaceResourceWhitelist', where, 'skip', warnings);
  const nsDeny = groupKinds(items(spec, 'namespaceResourceBlacklist', where), 'namespaceResourceBlacklist', where, 'widen', warnings);
  if (nsDeny.length) scope.namespaceResourceDeny = nsDeny;
  const checked = scopeRulesSchema.safeParse(scope);
  if (!checked.success) {
    throw new RelayError('CONFIG_INVALID', `${where}: cannot be expressed as a scope (${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  }
  return { scope, warnings };
}
