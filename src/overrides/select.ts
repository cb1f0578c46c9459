import type { KubeObject, ObjectSelector } from '../bundle/index.js';
import { globMatch, groupOfApiVersion } from '../policy/scope-rules.js';

/**
 * True when an object matches a selector: group, kind, namespace and name are globs (`*`, `?`, as in
 * the trust policy's scope); an omitted field matches anything. Cluster-scoped objects have the
 * namespace "". Pure.
 */
export function selectorMatches(select: ObjectSelector | undefined, obj: KubeObject): boolean {
  if (!select) return true;
  const fields: [string | undefined, string][] = [
    [select.group, groupOfApiVersion(obj.apiVersion)],
    [select.kind, obj.kind],
    [select.namespace, obj.metadata.namespace ?? ''],
    [select.name, obj.metadata.name],
  ];
  return fields.every(([pattern, value]) => pattern === undefined || globMatch(pattern, value));
}

/** `group/Kind namespace/name` as selectors and messages show it. */
export function describeSelected(obj: KubeObject): string {
  const group = groupOfApiVersion(obj.apiVersion);
  return `${group ? `${group}/` : ''}${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}
