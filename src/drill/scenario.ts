import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { parseStrictYaml } from '../strict-yaml.js';
import { z } from 'zod';
import { isDuration, parseDuration } from '../bundle/create.js';
import { readBoundedFileSync, MAX_SETTINGS_FILE_BYTES } from '../bounded-file.js';
import { RelayError } from '../errors.js';
import { isLabelSelector } from '../config/selector.js';

/**
 * The drill scenario (`kind: DrillScenario`, design §8.1): which relay config and applications,
 * the SLA and objectives, how primary is cut off (and undone) and which steps run. Pure apart
 * from reading the file: validation names every bad field (CONFIG_INVALID), paths resolve against
 * the scenario file's directory.
 */
export const DRILL_API_VERSION = 'rollout-relay.io/v1';
export const DRILL_KIND = 'DrillScenario';
export const STEP_NAMES = ['promote', 'cut-primary', 'verify-dr', 'failback'] as const;
export type StepName = (typeof STEP_NAMES)[number];
export const DEFAULT_SLA = '100s';
export const DEFAULT_DRILL_TIMEOUT = '10m';
export const DEFAULT_COMMAND_TIMEOUT = '60s';

/** A command as argv: never run through a shell. */
export type Argv = readonly [string, ...string[]];

export type CutSpec =
  | { type: 'sandbox'; dir: string; context: string }
  | { type: 'command'; run: Argv; undo: Argv; timeoutMs: number; cwd: string }
  | { type: 'scale-to-zero' }
  /** A zone or node-pool failure: primary's nodes matching `nodeSelector` cordoned, the applications' pods on them deleted. */
  | { type: 'cordon'; nodeSelector: string };

export interface DrillScenario {
  /** Absolute path of the scenario file. */
  file: string;
  /** The report's `scenario`: `name`, or the file name without its extension. */
  name: string;
  /** Absolute path of the RelayConfig. */
  config: string;
  /** NAMESPACE/NAME of workloads in primary. */
  applications: { namespace: string; name: string }[];
  slaMs: number;
  objectives: { rtoMs: number | null; rpoReleases: number | null };
  cut: CutSpec;
  steps: StepName[];
  /** Bound on the whole drill; past it the drill stops, undoes the cut and fails. */
  timeoutMs: number;
  /** Cron schedule for unattended runs (a CronJob runs `drill --yes`); informational here. */
  schedule?: string;
}

const WORKLOAD = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/;
/** Five cron fields (minute hour day month weekday) or a @macro, as a Kubernetes CronJob takes them. */
const CRON = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/;

const duration = z.string().refine(isDuration, 'must be a duration like 100s, 10m or 1h30m');

/** Shell metacharacters: a string command containing them is refused, since it never goes through a shell. */
const SHELL_ONLY = /[|&;<>()$`\\*?[\]{}~!#]/;

/**
 * Splits a command string into argv on whitespace, with '...' and "..." quoting and nothing else:
 * no variables, globs, pipes or redirections, since no shell runs it. Characters only a shell
 * gives a meaning are refused, so a command never silently means something else than it reads.
 */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (SHELL_ONLY.test(ch)) {
      throw new Error(`"${ch}" would need a shell, and drill commands run without one; give the command as a list (argv) or wrap a script`);
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`);
  if (inWord) out.push(cur);
  return out;
}

/** A command: a list (argv) or a string split by `splitCommand`; the problem is named either way. */
const argvSchema = z.unknown().transform((v, ctx): string[] => {
  let argv: string[];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) argv = v;
  else if (typeof v === 'string') {
    try {
      argv = splitCommand(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  } else {
    ctx.addIssue({ code: 'custom', message: v === undefined ? 'is required (a list of arguments, or a command string without shell syntax)' : 'must be a list of strings (argv) or a command string' });
    return z.NEVER;
  }
  if (argv.length === 0 || argv[0] === '') {
    ctx.addIssue({ code: 'custom', message: 'must name a program' });
    return z.NEVER;
  }
  return argv;
});

const cutSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sandbox'), dir: z.string().min(1).default('.sandbox'), context: z.string().min(1).default('primary') }),
  z.strictObject({ type: z.literal('command'), run: argvSchema, undo: argvSchema, timeout: duration.default(DEFAULT_COMMAND_TIMEOUT) }),
  z.strictObject({ type: z.literal('scale-to-zero') }),
  z.strictObject({
    type: z.literal('cordon'),
    nodeSelector: z.string({ error: 'is required: a label selector of primary\'s nodes, e.g. topology.kubernetes.io/zone=eu-west-1a' })
      .refine((v) => v.trim() !== '', 'must not be empty (it would select every node): name the zone or node pool, e.g. topology.kubernetes.io/zone=eu-west-1a')
      .refine((v) => v.trim() === '' || isLabelSelector(v), 'must be a label selector as kubectl get nodes -l takes it: key=value, key!=value, key in (a,b), key notin (a,b), key or !key, joined by commas'),
  }),
], { error: (iss) => (iss.input === undefined ? 'is required: {type: sandbox | command | scale-to-zero | cordon, ...}' : iss.code === 'invalid_union' ? 'must be sandbox, command, scale-to-zero or cordon' : undefined) });

const scenarioSchema = z.strictObject({
  apiVersion: z.literal(DRILL_API_VERSION, { error: `must be ${DRILL_API_VERSION}` }),
  kind: z.literal(DRILL_KIND, { error: `must be ${DRILL_KIND}` }),
  name: z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/, 'must be letters, digits, "-", "_" or "." (at most 63)').optional(),
  config: z.string().min(1, 'must name the RelayConfig file'),
  applications: z.array(z.string().regex(WORKLOAD, 'must be NAMESPACE/NAME of a Rollout or Deployment')).min(1, 'must name at least one application'),
  sla: duration.default(DEFAULT_SLA),
  objectives: z.strictObject({
    rto: duration.optional(),
    rpo: z.number().int('must be a whole number of releases').min(0, 'must be 0 or more releases').optional(),
  }).prefault({}),
  cut: cutSchema,
  steps: z.array(z.enum(STEP_NAMES, { error: `must be one of ${STEP_NAMES.join(', ')}` })).min(1, 'must name at least one step').default([...STEP_NAMES]),
  timeout: duration.default(DEFAULT_DRILL_TIMEOUT),
  schedule: z.string().regex(CRON, 'must be a cron schedule (five fields, e.g. "0 3 * * 1", or @daily)').optional(),
});

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

/** Order rules the schema cannot say: each step once, in the canonical order, failback only after a cut. */
function stepProblems(steps: readonly StepName[]): string[] {
  const problems: string[] = [];
  const seen = new Set<StepName>();
  steps.forEach((s, i) => {
    if (seen.has(s)) problems.push(`steps[${i}]: ${s} appears twice`);
    seen.add(s);
  });
  const order = steps.map((s) => STEP_NAMES.indexOf(s));
  if (order.some((o, i) => i > 0 && o < order[i - 1]!)) problems.push(`steps: must keep the order ${STEP_NAMES.join(', ')} (leave out any you do not want)`);
  if (seen.has('failback') && !seen.has('cut-primary')) problems.push('steps: failback needs cut-primary (there is nothing to fail back from)');
  return problems;
}

/** Validates parsed YAML; `file` says where relative paths resolve. */
export function parseScenario(raw: unknown, file: string): DrillScenario {
  const parsed = scenarioSchema.safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      if (i.code === 'unrecognized_keys') problems.push(...i.keys.map((k) => `${pathText([...i.path, k])}: unknown field`));
      else problems.push(`${pathText(i.path)}: ${i.message}`);
    }
  } else {
    problems.push(...stepProblems(parsed.data.steps));
  }
  if (!parsed.success || problems.length) {
    throw new RelayError('CONFIG_INVALID', `drill scenario ${file} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const s = parsed.data;
  const baseDir = dirname(file);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  let cut: CutSpec;
  if (s.cut.type === 'sandbox') cut = { type: 'sandbox', dir: abs(s.cut.dir), context: s.cut.context };
  else if (s.cut.type === 'command') {
    // A program named by a relative path (./cut.sh) is the scenario's own script; a bare name is looked up on PATH.
    const program = (argv: string[]): Argv => [argv[0]!.includes('/') ? abs(argv[0]!) : argv[0]!, ...argv.slice(1)];
    cut = { type: 'command', run: program(s.cut.run), undo: program(s.cut.undo), timeoutMs: parseDuration(s.cut.timeout), cwd: baseDir };
  } else if (s.cut.type === 'cordon') cut = { type: 'cordon', nodeSelector: s.cut.nodeSelector.trim() };
  else cut = { type: 'scale-to-zero' };
  return {
    file,
    name: s.name ?? basename(file, extname(file)),
    config: abs(s.config),
    applications: s.applications.map((a) => {
      const m = WORKLOAD.exec(a)!;
      return { namespace: m[1]!, name: m[3]! };
    }),
    slaMs: parseDuration(s.sla),
    objectives: { rtoMs: s.objectives.rto !== undefined ? parseDuration(s.objectives.rto) : null, rpoReleases: s.objectives.rpo ?? null },
    cut,
    steps: [...s.steps],
    timeoutMs: parseDuration(s.timeout),
    ...(s.schedule ? { schedule: s.schedule } : {}),
  };
}

/** Reads and validates a scenario file (`drill --scenario FILE`). */
export function loadScenario(path: string): DrillScenario {
  const file = resolve(path);
  const text = readBoundedFileSync(file, { what: 'drill scenario', maxBytes: MAX_SETTINGS_FILE_BYTES, code: 'CONFIG_INVALID' }).toString('utf8');
  return parseScenario(parseStrictYaml(text, 'CONFIG_INVALID', file), file);
}
