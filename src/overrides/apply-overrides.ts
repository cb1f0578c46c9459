import jsonpatch from 'fast-json-patch';
import { overrideName, toCanonicalJson, type KubeObject, type Override, type TargetDifferences } from '../bundle/index.js';
import { RelayError } from '../errors.js';
import { immutablePointers, valueAt } from './immutable-fields.js';
import { applyMergePatch } from './merge-patch.js';
import { describeSelected, selectorMatches } from './select.js';
import { globMatch } from '../policy/scope-rules.js';

/** One override as applied: what the status and `bundle inspect` show. */
export interface AppliedOverride {
  name: string;
  type: 'mergePatch' | 'jsonPatch';
  /** The objects it patched (`group/Kind namespace/name`). */
  objects: string[];
}

export interface OverrideSetOptions {
  /** CONFIG_INVALID when checking a config on the primary side, PREFLIGHT_FAILED when DR applies a signed bundle. */
  code: 'CONFIG_INVALID' | 'PREFLIGHT_FAILED';
  /**
   * The application's namespace. A target's overrides are config-wide (one config promotes many
   * applications): an override whose `select.namespace` does not match this namespace is meant for
   * other applications, so matching nothing here is not a mistake. Default: every override is
   * meant for this application.
   */
  applicationNamespace?: string;
}

/** Whether an override is meant for an application in `namespace` (its namespace selector matches, or it has none). */
export function overrideIsFor(o: Override, namespace: string | undefined): boolean {
  return namespace === undefined || o.select?.namespace === undefined || globMatch(o.select.namespace, namespace);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a === undefined ? null : toCanonicalJson(a)) === JSON.stringify(b === undefined ? null : toCanonicalJson(b));

/**
 * A target's overrides, applied object by object (so a streaming verifier can patch each manifest as
 * it passes). Every override that matches is applied in config order. A patch that does not apply,
 * changes an immutable field or the object's identity is a problem; so is a selector that matched
 * nothing (reported by `finish`). Problems are collected and thrown together, each naming its
 * override. Inputs are never changed (a parsed-manifest cache may share them). Pure.
 */
export class OverrideSet {
  private readonly applied: AppliedOverride[];
  private readonly problems: string[] = [];

  constructor(readonly differences: TargetDifferences, private readonly options: OverrideSetOptions) {
    this.applied = differences.overrides.map((o, i) => ({ name: overrideName(o, i), type: o.mergePatch !== undefined ? 'mergePatch' : 'jsonPatch', objects: [] }));
  }

  /** The object with every matching override applied (the same object when none matches). */
  patch(obj: KubeObject): KubeObject {
    let current = obj;
    this.differences.overrides.forEach((o, i) => {
      if (!selectorMatches(o.select, obj)) return;
      const record = this.applied[i]!;
      record.objects.push(describeSelected(obj));
      const next = this.patchOne(current, o, record.name);
      if (next) current = next;
    });
    return current;
  }

  /** Throws every problem at once; returns what was applied (overrides meant for other applications left out). */
  finish(): AppliedOverride[] {
    const ns = this.options.applicationNamespace;
    const forHere = this.differences.overrides.map((o) => overrideIsFor(o, ns));
    const where = ns === undefined ? 'the bundle' : `the application (namespace ${ns}); give it a select.namespace if it is meant for applications elsewhere`;
    const unmatched = this.applied.filter((a, i) => forHere[i] && a.objects.length === 0).map((a) => `override "${a.name}": its selector matches no object of ${where}`);
    const problems = [...this.problems, ...unmatched];
    if (problems.length) {
      const where = `target ${this.differences.target}`;
      const fix = this.options.code === 'CONFIG_INVALID' ? 'fix targets[].overrides in the config' : 'fix targets[].overrides in the config and promote again';
      throw new RelayError(this.options.code, `${where}: ${problems.length} bad override${problems.length === 1 ? '' : 's'}; nothing was written (${fix}):\n  ${problems.slice(0, 20).join('\n  ')}`);
    }
    return this.applied.filter((a, i) => forHere[i] || a.objects.length > 0).map((a) => ({ ...a, objects: [...a.objects] }));
  }

  private patchOne(obj: KubeObject, o: Override, name: string): KubeObject | undefined {
    const what = describeSelected(obj);
    let out: unknown;
    try {
      if (o.mergePatch !== undefined) {
        out = applyMergePatch(obj, o.mergePatch);
      } else {
        // validate: unresolvable paths and failed `test` ops throw; banPrototypeModifications keeps __proto__ out.
        out = jsonpatch.applyPatch(obj, o.jsonPatch as jsonpatch.Operation[], true, false, true).newDocument;
      }
      out = toCanonicalJson(out, what);
    } catch (err) {
      const reason = err instanceof Error ? (err.name && err.name !== 'Error' && err.name !== 'TypeError' ? `${err.name}: ` : '') + err.message.split('\n')[0] : String(err);
      this.problems.push(`override "${name}" does not apply to ${what}: ${reason}`);
      return undefined;
    }
    const patched = out as KubeObject;
    if (typeof patched !== 'object' || patched === null || describeSelected(patched) !== what || patched.apiVersion !== obj.apiVersion) {
      this.problems.push(`override "${name}" changes the identity of ${what} (apiVersion, kind, name or namespace); an override may only change its content`);
      return undefined;
    }
    const immutable = immutablePointers(obj).filter((p) => !same(valueAt(obj, p), valueAt(patched, p)));
    if (immutable.length) {
      this.problems.push(`override "${name}" changes ${immutable.join(', ')} of ${what}, which the API server does not allow to change (or which belongs to primary); remove it from the override`);
      return undefined;
    }
    return patched;
  }
}

/** Applies a target's overrides to a list of objects (see OverrideSet); throws the coded error with every problem. */
export function applyOverrides(objects: readonly KubeObject[], differences: TargetDifferences, options: OverrideSetOptions): { objects: KubeObject[]; applied: AppliedOverride[] } {
  const set = new OverrideSet(differences, options);
  const patched = objects.map((o) => set.patch(o));
  return { objects: patched, applied: set.finish() };
}
