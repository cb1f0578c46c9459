import { writeFile } from 'node:fs/promises';
import { RelayError } from '../errors.js';

/**
 * CI report files (GitLab `artifacts:reports:junit` and `artifacts:reports:dotenv`), written by
 * the commands themselves (`--junit FILE --dotenv FILE`) so pipelines never parse output.
 */

export interface JUnitCase {
  /** Shown as the test name, e.g. "promote shop/checkout to shenzhen". */
  name: string;
  /** Groups cases, e.g. "rollout-relay.promote". */
  classname: string;
  seconds: number;
  /** Set when the case failed: the error code and the message. */
  failure?: { type: string; message: string; details?: string };
  /** Set when the case did not run (and did not fail): why. */
  skipped?: string;
}

export interface JUnitSuite {
  name: string;
  cases: JUnitCase[];
  /** Epoch ms of the start. Default: now. */
  timestamp?: number;
  /** Written as <properties> of the testsuite (e.g. the drill's verdict and scenario). */
  properties?: Record<string, string>;
}

// XML 1.0 allows no control characters but tab, newline and carriage return.
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function xmlEscape(text: string): string {
  return text.replace(XML_INVALID, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A JUnit XML document (the subset GitLab reads: testsuites > testsuite > testcase > failure). */
export function junitXml(suite: JUnitSuite): string {
  const failures = suite.cases.filter((c) => c.failure).length;
  const skipped = suite.cases.filter((c) => !c.failure && c.skipped !== undefined).length;
  const total = suite.cases.reduce((s, c) => s + c.seconds, 0);
  const ts = new Date(suite.timestamp ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, '');
  // Line breaks and tabs in attributes as character references: a parser turns literal ones into spaces.
  const attr = (v: string) => xmlEscape(v).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
  const attrs = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => ` ${k}="${attr(String(v))}"`).join('');
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: suite.name, tests: suite.cases.length, failures, errors: 0, time: total.toFixed(3) })}>`,
    `  <testsuite${attrs({ name: suite.name, tests: suite.cases.length, failures, errors: 0, skipped, time: total.toFixed(3), timestamp: ts })}>`,
  ];
  const properties = Object.entries(suite.properties ?? {});
  if (properties.length) {
    lines.push('    <properties>', ...properties.map(([name, value]) => `      <property${attrs({ name, value })}/>`), '    </properties>');
  }
  for (const c of suite.cases) {
    const head = `    <testcase${attrs({ name: c.name, classname: c.classname, time: c.seconds.toFixed(3) })}`;
    if (!c.failure && c.skipped === undefined) {
      lines.push(`${head}/>`);
      continue;
    }
    lines.push(`${head}>`);
    if (!c.failure) lines.push(`      <skipped${attrs({ message: c.skipped ?? '' })}/>`);
    else lines.push(`      <failure${attrs({ type: c.failure.type, message: c.failure.message })}>${xmlEscape(c.failure.details ?? c.failure.message)}</failure>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** `HOT_UPDATE_STATUS_<TARGET>`: the target name upper-cased, `-` (and anything else not [A-Z0-9_]) as `_`. */
export function targetVariable(prefix: string, target: string): string {
  return `${prefix}_${target.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

const DOTENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A dotenv report as GitLab reads it: one KEY=VALUE per line, no quoting, no multi-line values
 * (values are single-line by construction: newlines become spaces).
 */
export function dotenvText(vars: Record<string, string | number>): string {
  return Object.entries(vars)
    .map(([k, v]) => {
      if (!DOTENV_KEY.test(k)) throw new RelayError('USAGE', `dotenv key ${JSON.stringify(k)} is not a valid variable name`);
      return `${k}=${String(v).replace(/[\r\n]+/g, ' ')}`;
    })
    .join('\n') + '\n';
}

/** Writes the requested report files; a path left undefined is skipped. */
export async function writeCiReports(paths: { junit?: string; dotenv?: string }, suite: JUnitSuite, vars: Record<string, string | number>): Promise<void> {
  if (paths.junit !== undefined) await writeFile(paths.junit, junitXml(suite));
  if (paths.dotenv !== undefined) await writeFile(paths.dotenv, dotenvText(vars));
}

/** What `hooks run` checked: the target's live state and the hooks' results. */
export interface HooksRunOutcome {
  application: string;
  target: string;
  /** hot_update_status of the target's status ConfigMap. */
  state: string;
  /** `sha256:<hex>` of the bundle the status records. */
  digest: string;
  results: { name: string; type: string; passed: boolean; observed: string; seconds: number; message: string }[];
  /** Set when hooks run itself refused (no hooks, unknown target ...). */
  error?: { code: string; message: string };
}

/**
 * `hooks run --junit/--dotenv`: one JUnit case per hook; dotenv HOOKS_PASSED, HOT_UPDATE_STATUS
 * (the target's status), HOT_UPDATE_STATUS_<TARGET>, BUNDLE_DIGEST and HOOK_<NAME>=passed|failed.
 */
export async function writeHooksRunReports(paths: { junit?: string; dotenv?: string }, o: HooksRunOutcome, started: number): Promise<void> {
  const cases: JUnitCase[] = o.results.map((r) => ({
    name: `${r.name} (${r.type}) on ${o.target}`,
    classname: `rollout-relay.hooks.${o.application}`,
    seconds: r.seconds,
    ...(r.passed ? {} : { failure: { type: 'HOOK_FAILED', message: `${r.name}: observed ${r.observed}: ${r.message}` } }),
  }));
  if (o.error) cases.push({ name: `hooks run on ${o.target}`, classname: `rollout-relay.hooks.${o.application}`, seconds: (Date.now() - started) / 1000, failure: { type: o.error.code, message: o.error.message } });
  const passed = !o.error && o.results.every((r) => r.passed);
  const vars: Record<string, string | number> = {
    HOOKS_PASSED: String(passed),
    ...(o.state ? { HOT_UPDATE_STATUS: o.state, [targetVariable('HOT_UPDATE_STATUS', o.target)]: o.state } : {}),
    ...(o.digest ? { BUNDLE_DIGEST: o.digest } : {}),
    ...(o.error ? { HOOKS_ERROR_CODE: o.error.code } : {}),
  };
  for (const r of o.results) vars[targetVariable('HOOK', r.name)] = r.passed ? 'passed' : 'failed';
  await writeCiReports(paths, { name: 'rollout-relay hooks run', timestamp: started, cases }, vars);
}
