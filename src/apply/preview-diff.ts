import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { ObjectPreview } from './applier.js';

/** What every write moves and nobody asked for: left out of a diff. */
const VOLATILE_METADATA = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** An object as a diff shows it: YAML without status and server bookkeeping, keys in a stable order. */
export function diffText(obj: unknown): string {
  if (obj === undefined) return '';
  const copy = structuredClone(obj) as Record<string, unknown> & { metadata?: Record<string, unknown> };
  delete copy.status;
  if (copy.metadata) for (const k of VOLATILE_METADATA) delete copy.metadata[k];
  return stringify(copy, { sortMapEntries: true, lineWidth: 0 });
}

/**
 * Unified diffs of what a dry run would change, object by object (`rollout-relay diff`), plus the
 * objects a prune would delete. Unchanged objects print nothing, so an up-to-date target prints
 * nothing at all. Pure.
 */
export function renderPreviewDiff(previews: readonly ObjectPreview[], pruned: readonly string[] = []): string {
  const parts: string[] = [];
  for (const p of previews) {
    if (p.unchanged) continue;
    const before = diffText(p.live);
    const after = diffText(p.after);
    if (before === after) continue;
    parts.push(createTwoFilesPatch(p.live ? `live/${p.object}` : '/dev/null', `dr/${p.object}`, before, after, p.live ? 'live' : 'new object', 'after apply', { context: 3 }).replace(/^=+\n/, ''));
  }
  for (const o of pruned) parts.push(`--- live/${o}\n+++ /dev/null\n@@ pruned: no longer in the application @@\n`);
  return parts.join('');
}
