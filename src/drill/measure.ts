import type { StatusRecord } from '../status/model.js';

/**
 * RTO/RPO arithmetic of the drill (design §8). Pure: the runner reads the clusters and hands the
 * numbers in. RPO is "what a disaster at this moment would have lost": how many releases DR was
 * behind primary and since when; RTO is cut → DR verified serving the right revision.
 */

/** A release as rollout-relay names it: the workload's revision annotation and pod-template-hash. */
export interface Release {
  revision: string;
  podTemplateHash: string;
}

/** When primary had a revision: a bundle's createdAt (completed and bundled) or its ReplicaSet's creationTimestamp. */
export interface ReleaseTime {
  revision: string;
  /** RFC 3339. */
  at: string;
}

export interface RpoInput {
  primary: Release;
  /** What DR serves (null: nothing relayed there yet). */
  dr: Release | null;
  /** Primary's history: when each revision appeared there (several entries per revision: the earliest counts). */
  history: ReleaseTime[];
  /** Epoch ms of the measurement (the cut, or the promote step before it acts). */
  at: number;
}

export interface Rpo {
  releases: number;
  seconds: number;
  /** RFC 3339 since when DR lacked a release primary had; null when in sync or unknown. */
  behindSince: string | null;
}

/** What DR serves by its status ConfigMap: the completed bundle, or the last completed one after a failure. */
export function drServing(record: StatusRecord | undefined): (Release & { bundleDigest: string; sequence: number }) | null {
  if (!record) return null;
  if (record.state === 'completed') return { revision: record.revision, podTemplateHash: record.podTemplateHash, bundleDigest: record.bundleDigest, sequence: record.sequence };
  const lc = record.lastCompleted;
  return lc ? { revision: lc.revision, podTemplateHash: lc.podTemplateHash ?? '', bundleDigest: lc.bundleDigest, sequence: lc.sequence } : null;
}

const int = (s: string): number | undefined => (/^\d{1,15}$/.test(s) ? Number(s) : undefined);

/** True when DR serves primary's release (a pod-template-hash, when both know it, must agree too). */
export function sameRelease(a: Release, b: Release): boolean {
  return a.revision === b.revision && (a.podTemplateHash === '' || b.podTemplateHash === '' || a.podTemplateHash === b.podTemplateHash);
}

/**
 * Releases DR is behind: 0 in sync; the revision distance when both revisions are numbers (Argo
 * Rollouts and Deployments count revisions up, also on a rollback); 1 when they differ otherwise;
 * every release of primary when DR has none.
 */
export function releasesBehind(primary: Release, dr: Release | null): number {
  if (dr && sameRelease(primary, dr)) return 0;
  const p = int(primary.revision);
  if (!dr) return p !== undefined && p > 0 ? p : 1;
  const d = int(dr.revision);
  return p !== undefined && d !== undefined && p > d ? p - d : 1;
}

/** The revisions DR lacks: numbers above DR's up to primary's, or just primary's when not numeric. */
function missingRevisions(primary: Release, dr: Release | null): (r: string) => boolean {
  const p = int(primary.revision);
  const d = dr ? int(dr.revision) : 0;
  if (p !== undefined && d !== undefined) return (r) => { const n = int(r); return n !== undefined && n > d && n <= p; };
  return (r) => r === primary.revision;
}

export function computeRpo(input: RpoInput): Rpo {
  const releases = releasesBehind(input.primary, input.dr);
  if (releases === 0) return { releases: 0, seconds: 0, behindSince: null };
  const missing = missingRevisions(input.primary, input.dr);
  const times = input.history.filter((h) => missing(h.revision)).map((h) => Date.parse(h.at)).filter((t) => Number.isFinite(t));
  if (times.length === 0) return { releases, seconds: 0, behindSince: null };
  const since = Math.min(...times);
  return { releases, seconds: Math.max(0, Math.round(input.at - since) / 1000), behindSince: new Date(since).toISOString() };
}

/** RTO in seconds (ms precision), or null when DR was never verified after the cut. */
export function rtoSeconds(cutAt: number | null, verifiedAt: number | null): number | null {
  if (cutAt === null || verifiedAt === null) return null;
  return Math.max(0, verifiedAt - cutAt) / 1000;
}

/** Seconds for people: two decimals below 10 s (an RTO of 0.05 s is not "0.0 s"), one above. */
export function secondsText(s: number): string {
  return s < 10 ? String(Number(s.toFixed(2))) : s.toFixed(1);
}

export interface VerdictInput {
  slaMs: number;
  objectives: { rtoMs: number | null; rpoReleases: number | null };
  rtoSeconds: number | null;
  rpo: { releases: number; seconds: number } | null;
  /** Why DR was behind, when known (e.g. the last promotion there was rolled back). */
  rpoWhy?: string;
  /** Whether a cut happened (RTO is judged only then). */
  cut: boolean;
  steps: { name: string; result: 'pass' | 'fail' | 'skipped'; message: string }[];
  /** Why the drill stopped early (signal, timeout, error), if it did. */
  interrupted?: string;
}

/**
 * pass only when every step passed, RTO is within the SLA and the RTO objective, and RPO within its
 * objective; the reason names every cause, first the one that matters most.
 */
export function judge(v: VerdictInput): { verdict: 'pass' | 'fail'; reason: string } {
  const causes: string[] = [];
  if (v.interrupted) causes.push(v.interrupted);
  const sla = v.slaMs / 1000;
  if (v.rpo && v.objectives.rpoReleases !== null && v.rpo.releases > v.objectives.rpoReleases) {
    causes.push(`RPO ${v.rpo.releases} release(s) (DR ${secondsText(v.rpo.seconds)} s behind primary) exceeds the objective of ${v.objectives.rpoReleases}${v.rpoWhy ? `: ${v.rpoWhy}` : ''}`);
  }
  if (v.cut && v.rtoSeconds !== null) {
    if (v.rtoSeconds > sla) causes.push(`RTO ${secondsText(v.rtoSeconds)} s exceeds the SLA of ${sla} s`);
    else if (v.objectives.rtoMs !== null && v.rtoSeconds > v.objectives.rtoMs / 1000) causes.push(`RTO ${secondsText(v.rtoSeconds)} s exceeds the objective of ${v.objectives.rtoMs / 1000} s`);
  }
  for (const s of v.steps.filter((x) => x.result === 'fail')) causes.push(`${s.name} failed: ${s.message.split('\n')[0]}`);
  if (causes.length) return { verdict: 'fail', reason: causes.join('; ') };
  const parts = [
    v.rtoSeconds !== null ? `RTO ${secondsText(v.rtoSeconds)} s within the ${sla} s SLA` : undefined,
    v.rpo ? `RPO ${v.rpo.releases} release(s)` : undefined,
  ].filter((x) => x !== undefined);
  return { verdict: 'pass', reason: `every step passed${parts.length ? `; ${parts.join(', ')}` : ''}` };
}
