import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatZodIssues } from '../bundle/bounded-json.js';
import { RelayError } from '../errors.js';
import { drillReportHtml } from './report-html.js';
import { drillReportJUnit } from './report-junit.js';
import { drillReportMarkdown } from './report-markdown.js';

/**
 * The drill report (design §8.1): one JSON document is the source of truth, and the Markdown,
 * JUnit and HTML files are pure renderings of it, so every format tells the same story.
 */

export interface DrillStep {
  name: 'promote' | 'cut-primary' | 'verify-dr' | 'failback' | (string & {});
  /** ISO 8601 UTC. */
  startedAt: string;
  seconds: number;
  result: 'pass' | 'fail' | 'skipped';
  message: string;
}

export interface DrillPostCheck {
  name: string;
  type: string;
  passed: boolean;
  observed: string;
  message: string;
  seconds: number;
}

export interface DrillTargetResult {
  target: string;
  revision: string | null;
  podTemplateHash: string | null;
  hotUpdateStatus: string | null;
  bundleDigest: string | null;
  keyIds: string[];
  sequence: number | null;
  postChecks: DrillPostCheck[];
}

export interface DrillApplicationResult {
  /** NAMESPACE/NAME of the workload. */
  application: string;
  primaryRevision: string | null;
  primaryPodTemplateHash: string | null;
  targets: DrillTargetResult[];
}

export interface DrillReport {
  apiVersion: 'rollout-relay.io/v1';
  kind: 'DrillReport';
  scenario: string;
  startedAt: string;
  finishedAt: string;
  verdict: 'pass' | 'fail';
  reason: string;
  sla: { seconds: number };
  objectives: { rtoSeconds: number | null; rpoReleases: number | null };
  rtoSeconds: number | null;
  rpo: { releases: number; seconds: number } | null;
  cut: { type: string; at: string | null; undoneAt: string | null };
  steps: DrillStep[];
  applications: DrillApplicationResult[];
}

export type DrillReportFormat = 'json' | 'md' | 'junit' | 'html';
export const DRILL_REPORT_FORMATS: readonly DrillReportFormat[] = ['json', 'md', 'junit', 'html'];

/** Formats written when the scenario or `--format` names none (design §8.1). */
export const DEFAULT_DRILL_REPORT_FORMATS: readonly DrillReportFormat[] = ['json', 'md'];

/** `--format json,md,junit,html`: a comma-separated list; an unknown name is a USAGE error. */
export function parseReportFormats(list: string): DrillReportFormat[] {
  const names = list.split(',').map((f) => f.trim()).filter((f) => f !== '');
  const unknown = names.filter((f) => !(DRILL_REPORT_FORMATS as readonly string[]).includes(f));
  if (unknown.length || names.length === 0) throw new RelayError('USAGE', `--format ${JSON.stringify(list)}: use a comma-separated list of ${DRILL_REPORT_FORMATS.join(', ')}`);
  return [...new Set(names as DrillReportFormat[])];
}

/** File name per format inside `--report-dir`. */
export const DRILL_REPORT_FILES: Readonly<Record<DrillReportFormat, string>> = {
  json: 'drill-report.json',
  md: 'drill-report.md',
  junit: 'drill-report.xml',
  html: 'drill-report.html',
};

const timestamp = z.iso.datetime({ offset: true });
const seconds = z.number().finite().nonnegative();

// Strict objects: a report with a field this version does not know is refused, so the published
// JSON Schema (additionalProperties: false) and the renderers never silently drop data.
const stepSchema = z.strictObject({
  name: z.string().min(1),
  startedAt: timestamp,
  seconds,
  result: z.enum(['pass', 'fail', 'skipped']),
  message: z.string(),
});

const postCheckSchema = z.strictObject({
  name: z.string().min(1),
  type: z.string().min(1),
  passed: z.boolean(),
  observed: z.string(),
  message: z.string(),
  seconds,
});

const targetSchema = z.strictObject({
  target: z.string().min(1),
  revision: z.string().nullable(),
  podTemplateHash: z.string().nullable(),
  hotUpdateStatus: z.string().nullable(),
  bundleDigest: z.string().nullable(),
  keyIds: z.array(z.string()),
  sequence: z.number().int().nonnegative().nullable(),
  postChecks: z.array(postCheckSchema),
});

const applicationSchema = z.strictObject({
  application: z.string().min(1),
  primaryRevision: z.string().nullable(),
  primaryPodTemplateHash: z.string().nullable(),
  targets: z.array(targetSchema),
});

/** The zod schema of the JSON report; docs/drill-report.schema.json is generated from it. */
export const drillReportSchema = z.strictObject({
  apiVersion: z.literal('rollout-relay.io/v1'),
  kind: z.literal('DrillReport'),
  scenario: z.string(),
  startedAt: timestamp,
  finishedAt: timestamp,
  verdict: z.enum(['pass', 'fail']),
  reason: z.string(),
  sla: z.strictObject({ seconds: z.number().finite().positive() }),
  objectives: z.strictObject({ rtoSeconds: seconds.nullable(), rpoReleases: z.number().int().nonnegative().nullable() }),
  rtoSeconds: seconds.nullable(),
  rpo: z.strictObject({ releases: z.number().int().nonnegative(), seconds }).nullable(),
  cut: z.strictObject({ type: z.string().min(1), at: timestamp.nullable(), undoneAt: timestamp.nullable() }),
  steps: z.array(stepSchema),
  applications: z.array(applicationSchema),
});

/**
 * The JSON Schema (draft 2020-12) of drill-report.json, generated from the zod schema so the two
 * cannot drift; committed as docs/drill-report.schema.json for tools outside rollout-relay.
 */
export function drillReportJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(drillReportSchema) as Record<string, unknown>;
  return {
    $schema,
    title: 'rollout-relay DrillReport (rollout-relay.io/v1)',
    description: 'drill-report.json, written by `rollout-relay drill --report-dir DIR`: verdict, RTO, RPO, steps and per application and target the verified bundle digest, key ids and post-check results.',
    ...rest,
  };
}

/** The committed schema file's text: what scripts/write-drill-report-schema.ts writes. */
export function drillReportJsonSchemaText(): string {
  return `${JSON.stringify(drillReportJsonSchema(), null, 2)}\n`;
}

/** Validates a parsed JSON value as a drill report; MALFORMED names the first wrong fields. */
export function parseDrillReport(json: unknown): DrillReport {
  const parsed = drillReportSchema.safeParse(json);
  if (!parsed.success) {
    throw new RelayError('MALFORMED', `not a valid DrillReport (rollout-relay.io/v1): ${formatZodIssues(parsed.error)}; write the report with this version of rollout-relay`);
  }
  return parsed.data;
}

/**
 * The JSON report: keys in schema order whatever order the caller built them in (zod rebuilds
 * objects in shape order), two-space indent, trailing newline, so reports diff cleanly.
 */
export function drillReportJson(report: DrillReport): string {
  return `${JSON.stringify(parseDrillReport(report), null, 2)}\n`;
}

/** Writes `drill-report.{json,md,xml,html}` for the given formats into `dir` (created if missing); returns the paths written. */
export function renderReports(report: DrillReport, formats: readonly DrillReportFormat[], dir: string): string[] {
  const valid = parseDrillReport(report);
  const renderers: Record<DrillReportFormat, (r: DrillReport) => string> = {
    json: drillReportJson,
    md: drillReportMarkdown,
    junit: drillReportJUnit,
    html: drillReportHtml,
  };
  const unknown = formats.filter((f) => !Object.hasOwn(renderers, f));
  if (unknown.length) throw new RelayError('USAGE', `unknown report format ${unknown.join(', ')}; use ${DRILL_REPORT_FORMATS.join(', ')}`);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const format of new Set(formats)) {
    const render = renderers[format];
    const path = join(dir, DRILL_REPORT_FILES[format]);
    writeFileSync(path, render(valid));
    written.push(path);
  }
  return written;
}
