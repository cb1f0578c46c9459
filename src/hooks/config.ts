import { isAbsolute, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../bundle/index.js';
import { readBoundedFileSync, MAX_SETTINGS_FILE_BYTES } from '../bounded-file.js';
import { RelayError } from '../errors.js';
import { checkTemplate, hasPlaceholder, renderTemplate, type TemplateValues } from './template.js';

/**
 * The `hooks:` list of the relay config (design §5, §9), validated once at load: a bad hook is
 * refused with CONFIG_INVALID naming it before any promotion starts.
 */

export const HOOK_TYPES = ['traffic-colour', 'prometheus', 'job'] as const;
export type HookType = (typeof HOOK_TYPES)[number];

export const COMPARISONS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** Default per-hook timeout; always capped by what is left of the promotion deadline. */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

interface HookCommon {
  name: string;
  timeoutMs: number;
}

export interface TrafficColourSpec extends HookCommon {
  type: 'traffic-colour';
  /** Templated. */
  url: string;
  method: string;
  /** The colour header sent with every request; `value` is templated. */
  header: { name: string; value: string };
  /** Where the answering version is read: a response header, or the first capture group (or match) of a body regex. `value` is templated. */
  expect: { header?: string; body?: RegExp; value: string };
  requests: number;
  minShare: number;
  concurrency: number;
}

export interface PrometheusSpec extends HookCommon {
  type: 'prometheus';
  url: string;
  /** Templated PromQL. */
  query: string;
  pass: { op: Comparison; value: number };
  noData: 'fail' | 'pass';
  intervalMs: number;
  /** A series carrying this label must carry this (templated) value; null = no label check. */
  expectLabel: { name: string; value: string } | null;
}

export interface JobSpec extends HookCommon {
  type: 'job';
  /** Absolute path of the Job template and its (templated) text, read at load. */
  templatePath: string;
  templateText: string;
  /** Lines of pod log quoted in the result message. */
  logLines: number;
}

export type HookSpec = TrafficColourSpec | PrometheusSpec | JobSpec;

const hookName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, 'must be a lower-case DNS label of at most 40 characters (it names the hook\'s Jobs)');
const duration = z.union([z.string(), z.number().positive()]);
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name');
const httpUrl = z.string().min(1);

const common = { name: hookName, timeout: duration.optional() };

const trafficColourSchema = z.strictObject({
  ...common,
  type: z.literal('traffic-colour'),
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  header: z.strictObject({ name: headerName, value: z.string().min(1) }),
  expect: z.strictObject({ header: headerName.optional(), body: z.string().min(1).optional(), value: z.string().min(1) })
    .refine((e) => (e.header === undefined) !== (e.body === undefined), { message: 'give exactly one of header or body' }),
  requests: z.number().int().min(1).max(10_000).default(50),
  minShare: z.number().gt(0).max(1).default(1),
  concurrency: z.number().int().min(1).max(100).default(5),
});

const prometheusSchema = z.strictObject({
  ...common,
  type: z.literal('prometheus'),
  url: httpUrl,
  query: z.string().min(1),
  pass: z.string().min(1),
  noData: z.enum(['fail', 'pass']).default('fail'),
  interval: duration.optional(),
  expectLabel: z.strictObject({ name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name'), value: z.string() }).nullable()
    .default({ name: 'version', value: '{{podTemplateHash}}' }),
});

const jobSchema = z.strictObject({
  ...common,
  type: z.literal('job'),
  template: z.string().min(1),
  logLines: z.number().int().min(0).max(200).default(10),
});

const schemas: Record<HookType, z.ZodType> = { 'traffic-colour': trafficColourSchema, prometheus: prometheusSchema, job: jobSchema };

/** Placeholder values used to check that templated text renders to something valid. */
const SAMPLE_VALUES: TemplateValues = {
  revision: '1', podTemplateHash: '5d8f7c9b4', digest: `sha256:${'0'.repeat(64)}`, application: 'ns/app', namespace: 'ns', target: 'dr',
};

function invalid(where: string, message: string): RelayError {
  return new RelayError('CONFIG_INVALID', `${where}: ${message}`);
}

function durationMs(v: string | number | undefined, dflt: number, where: string): number {
  if (v === undefined) return dflt;
  if (typeof v === 'number') return Math.round(v * 1000); // a bare number is seconds
  try {
    return parseDuration(v);
  } catch {
    throw invalid(where, `"${v}" is not a duration like 500ms, 20s or 1m`);
  }
}

/** "< 0.005" → {op: '<', value: 0.005}; throws CONFIG_INVALID on a bad comparison. */
export function parseComparison(text: string, where: string): { op: Comparison; value: number } {
  const m = /^\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/.exec(text);
  if (!m) throw invalid(where, `pass "${text}" is not a comparison like "< 0.005" (operators: ${COMPARISONS.join(' ')})`);
  return { op: m[1] as Comparison, value: Number(m[2]) };
}

export function compare(observed: number, c: { op: Comparison; value: number }): boolean {
  if (Number.isNaN(observed)) return false; // NaN (e.g. 0/0) never passes a gate
  switch (c.op) {
    case '<': return observed < c.value;
    case '<=': return observed <= c.value;
    case '>': return observed > c.value;
    case '>=': return observed >= c.value;
    case '==': return observed === c.value;
    case '!=': return observed !== c.value;
  }
}

function checkUrl(text: string, where: string): void {
  checkTemplate(text, where);
  let u: URL;
  try {
    u = new URL(renderTemplate(text, SAMPLE_VALUES));
  } catch {
    throw invalid(where, `"${text}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(where, `"${text}" must be an http or https URL`);
}

function loadJobTemplate(template: string, baseDir: string, where: string): { path: string; text: string } {
  const path = isAbsolute(template) ? template : resolve(baseDir, template);
  const text = readBoundedFileSync(path, { field: where, what: 'Job template', maxBytes: MAX_SETTINGS_FILE_BYTES, code: 'CONFIG_INVALID' }).toString('utf8');
  checkTemplate(text, `${where} (${path})`);
  // Render with sample values so a template that only breaks once filled in is caught now.
  const job = parseJobTemplate(renderTemplate(text, SAMPLE_VALUES), `${where} (${path})`);
  if (!job) throw invalid(where, `${path} is empty`);
  return { path, text };
}

/** Parses a rendered Job template: exactly one batch/v1 Job with a pod template. */
export function parseJobTemplate(text: string, where: string): Record<string, unknown> | undefined {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const objs: unknown[] = [];
  for (const d of Array.isArray(docs) ? docs : [docs]) {
    if (d.errors.length) throw invalid(where, `not valid YAML: ${d.errors[0]!.message}`);
    const v = d.toJS({ maxAliasCount: 50 }) as unknown;
    if (v !== null && v !== undefined) objs.push(v);
  }
  if (objs.length === 0) return undefined;
  if (objs.length !== 1) throw invalid(where, `must hold exactly one Job, found ${objs.length} documents`);
  const job = objs[0] as Record<string, unknown>;
  if (typeof job !== 'object' || Array.isArray(job) || job.apiVersion !== 'batch/v1' || job.kind !== 'Job') {
    throw invalid(where, 'must be a batch/v1 Job');
  }
  const spec = job.spec as { template?: { spec?: { containers?: unknown } } } | undefined;
  if (!Array.isArray(spec?.template?.spec?.containers)) throw invalid(where, 'must have spec.template.spec.containers');
  return job;
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Validates one hook; `where` names it (`hooks[1] (errors)`). */
function parseHook(raw: unknown, where: string, baseDir: string): HookSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(where, 'must be a mapping');
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !(HOOK_TYPES as readonly string[]).includes(type)) {
    throw invalid(where, `unknown hook type ${JSON.stringify(type)}; use one of ${HOOK_TYPES.join(', ')}`);
  }
  const parsed = schemas[type as HookType].safeParse(raw);
  if (!parsed.success) throw invalid(where, issues(parsed.error));
  const timeoutMs = (h: { timeout?: string | number | undefined }): number => durationMs(h.timeout, DEFAULT_HOOK_TIMEOUT_MS, `${where} timeout`);
  switch (type as HookType) {
    case 'traffic-colour': {
      const h = parsed.data as z.infer<typeof trafficColourSchema>;
      checkUrl(h.url, `${where} url`);
      checkTemplate(h.header.value, `${where} header.value`);
      checkTemplate(h.expect.value, `${where} expect.value`);
      // Both must name the revision: a fixed colour cannot tell the new version from a stale one.
      for (const [field, text] of [['header.value', h.header.value], ['expect.value', h.expect.value]] as const) {
        if (!hasPlaceholder(text)) throw invalid(where, `${field} "${text}" must name the revision with a placeholder such as {{podTemplateHash}}`);
      }
      let body: RegExp | undefined;
      if (h.expect.body !== undefined) {
        try {
          body = new RegExp(h.expect.body);
        } catch (err) {
          throw invalid(where, `expect.body is not a regular expression: ${(err as Error).message}`);
        }
      }
      return {
        type: 'traffic-colour', name: h.name, timeoutMs: timeoutMs(h), url: h.url, method: h.method, header: h.header,
        expect: { ...(h.expect.header ? { header: h.expect.header.toLowerCase() } : {}), ...(body ? { body } : {}), value: h.expect.value },
        requests: h.requests, minShare: h.minShare, concurrency: h.concurrency,
      };
    }
    case 'prometheus': {
      const h = parsed.data as z.infer<typeof prometheusSchema>;
      checkUrl(h.url, `${where} url`);
      checkTemplate(h.query, `${where} query`);
      if (h.expectLabel) checkTemplate(h.expectLabel.value, `${where} expectLabel.value`);
      return {
        type: 'prometheus', name: h.name, timeoutMs: timeoutMs(h), url: h.url, query: h.query, pass: parseComparison(h.pass, where),
        noData: h.noData, intervalMs: durationMs(h.interval, 2000, `${where} interval`), expectLabel: h.expectLabel,
      };
    }
    case 'job': {
      const h = parsed.data as z.infer<typeof jobSchema>;
      const t = loadJobTemplate(h.template, baseDir, where);
      return { type: 'job', name: h.name, timeoutMs: timeoutMs(h), templatePath: t.path, templateText: t.text, logLines: h.logLines };
    }
  }
}

/** Validates the whole list; hook names must be unique. Throws CONFIG_INVALID naming the first bad hook. */
export function parseHookSpecs(raw: unknown, baseDir: string, where = 'hooks'): HookSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new RelayError('CONFIG_INVALID', `${where} must be a list`);
  const specs: HookSpec[] = [];
  raw.forEach((item, i) => {
    const name = typeof (item as { name?: unknown })?.name === 'string' ? ` (${(item as { name: string }).name})` : '';
    const spec = parseHook(item, `${where}[${i}]${name}`, baseDir);
    if (specs.some((s) => s.name === spec.name)) throw invalid(`${where}[${i}]${name}`, `hook name ${spec.name} is used twice`);
    specs.push(spec);
  });
  return specs;
}
