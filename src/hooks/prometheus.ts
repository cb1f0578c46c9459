import { compare, type PrometheusSpec } from './config.js';
import { errorText, sleep, timeLeft, type Hook, type HookOutcome, type HookRun } from './hook.js';
import { renderTemplate } from './template.js';

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** One query's answer. `refused` ends the check at once: asking again cannot help. */
type Reading =
  | { kind: 'data'; samples: Sample[] }
  | { kind: 'no-data' }
  | { kind: 'error'; message: string }
  | { kind: 'refused'; message: string };

interface PromResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels).filter(([k]) => k !== '__name__');
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}` : '{}';
}

/** Parses the `data` of an instant query into samples; a range vector or string is refused. */
export function samplesOf(data: PromResponse['data']): Sample[] | string {
  const type = data?.resultType;
  const result = data?.result;
  if (type === 'scalar' && Array.isArray(result)) return [{ labels: {}, value: Number(result[1]) }];
  if (type === 'vector' && Array.isArray(result)) {
    return result.map((r: { metric?: Record<string, string>; value?: [number, string] }) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
  }
  return `the query returns a ${type ?? 'unknown'} result; a gate needs an instant vector or a scalar`;
}

/**
 * Prometheus gate (design §5): an instant query over the HTTP API, compared against a number.
 * Re-queried every `interval` until it passes or the hook's time is up (the DR side may need to
 * warm up); "no data" is judged only then. Every series that carries the expected label must carry
 * the expected value, so a series left over from the previous version never passes for the new one.
 */
export class PrometheusHook implements Hook {
  readonly type = 'prometheus';
  readonly name: string;
  readonly timeoutMs: number;

  constructor(private readonly spec: PrometheusSpec) {
    this.name = spec.name;
    this.timeoutMs = spec.timeoutMs;
  }

  async check(run: HookRun): Promise<HookOutcome> {
    const base = renderTemplate(this.spec.url, run.values);
    const query = renderTemplate(this.spec.query, run.values);
    const label = this.spec.expectLabel ? { name: this.spec.expectLabel.name, value: renderTemplate(this.spec.expectLabel.value, run.values) } : null;
    const gate = `${this.spec.pass.op} ${this.spec.pass.value}`;
    let queries = 0;
    /** The last query Prometheus answered (data or none); a later failed query never erases it. */
    let answer: Extract<Reading, { kind: 'data' | 'no-data' }> | undefined;
    let answerJudgement = '';
    /** Set when the latest query failed (network, 5xx, cut short by the timeout). */
    let lastError: string | undefined;
    for (;;) {
      const left = timeLeft(run);
      if (left === 0) break;
      const reading = await this.query(base, query, AbortSignal.any([run.signal, AbortSignal.timeout(left)]));
      queries++;
      if (reading.kind === 'refused') return { passed: false, observed: 'query refused', message: `Prometheus refused the query: ${reading.message}` };
      if (reading.kind === 'error') {
        lastError = reading.message;
      } else {
        lastError = undefined;
        answer = reading;
      }
      if (reading.kind === 'data') {
        const samples = reading.samples;
        const bad = samples.map((s) => this.judge(s, label, gate)).filter((why) => why !== '');
        const observed = samples.map((s) => `${s.value}${samples.length > 1 ? ` ${labelText(s.labels)}` : ''}`).join(', ');
        if (bad.length === 0) return { passed: true, observed, message: `${samples.map((s) => `${s.value} ${labelText(s.labels)}`).join(', ')} ${gate} (query ${queries})` };
        answerJudgement = bad.join('; ');
      }
      if (timeLeft(run) <= this.spec.intervalMs) break;
      await sleep(this.spec.intervalMs, run.signal);
    }
    const after = `after ${queries} quer${queries === 1 ? 'y' : 'ies'} in ${Math.round(run.budgetMs / 1000)}s`;
    const failedLast = lastError === undefined ? '' : `; the last query failed: ${lastError}`;
    if (answer === undefined) {
      return { passed: false, observed: 'error', message: `Prometheus at ${base} did not answer: ${lastError ?? 'no query finished before the timeout'} ${after}` };
    }
    if (answer.kind === 'data') {
      return { passed: false, observed: answer.samples.map((s) => String(s.value)).join(', '), message: `${answerJudgement} ${after}${failedLast}` };
    }
    // No data is judged only now, and passes (noData: pass) only when Prometheus still answered last.
    if (this.spec.noData === 'pass' && lastError === undefined) return { passed: true, observed: 'no data', message: `no data ${after}; noData: pass` };
    return {
      passed: false, observed: 'no data',
      message: `no data ${after} (noData: ${this.spec.noData}): the query returned no series${label ? ` for ${label.name}="${label.value}"` : ''}${failedLast}`,
    };
  }

  /** '' when the sample passes; otherwise why not. */
  private judge(s: Sample, label: { name: string; value: string } | null, gate: string): string {
    const got = label ? s.labels[label.name] : undefined;
    if (label && got !== undefined && got !== label.value) {
      return `series ${labelText(s.labels)} is for ${label.name}="${got}", not the expected "${label.value}" (stale)`;
    }
    if (!compare(s.value, this.spec.pass)) return `${s.value} ${labelText(s.labels)} is not ${gate}`;
    return '';
  }

  private async query(base: string, query: string, signal: AbortSignal): Promise<Reading> {
    const url = new URL('api/v1/query', base.endsWith('/') ? base : `${base}/`);
    let res: Response;
    let body: PromResponse;
    try {
      res = await fetch(url, {
        method: 'POST', signal,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ query, time: (Date.now() / 1000).toFixed(3) }).toString(),
      });
      body = (await res.json()) as PromResponse;
    } catch (err) {
      return { kind: 'error', message: errorText(err) };
    }
    if (body.status !== 'success') {
      const message = `${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? 'no error text'}`;
      return body.errorType === 'bad_data' ? { kind: 'refused', message } : { kind: 'error', message };
    }
    const samples = samplesOf(body.data);
    if (typeof samples === 'string') return { kind: 'refused', message: samples };
    return samples.length ? { kind: 'data', samples } : { kind: 'no-data' };
  }
}
