import { randomBytes } from 'node:crypto';
import type { TrafficColourSpec } from './config.js';
import { errorText, timeLeft, type Hook, type HookOutcome, type HookRun } from './hook.js';
import { renderTemplate, TEMPLATE_VARIABLES, type TemplateValues } from './template.js';

/** How one request was answered. */
type Answer =
  | { kind: 'version'; status: number; version: string | undefined }
  | { kind: 'error'; message: string };

const MAX_BODY = 64 * 1024;

/**
 * Traffic colouring (design §5): N requests to the DR entry point carrying the colour header;
 * pass when at least `minShare` are answered (status < 400) by the expected version. First a
 * request for a colour that names no version: if that is answered by the expected version, or
 * echoed back as if it existed, the colour is not what selects the version (a vanished header
 * route, argo-rollouts#4486) and the probe would prove nothing. Connection errors and 5xx count
 * as failures; nothing is retried.
 */
export class TrafficColourHook implements Hook {
  readonly type = 'traffic-colour';
  readonly name: string;
  readonly timeoutMs: number;

  constructor(private readonly spec: TrafficColourSpec) {
    this.name = spec.name;
    this.timeoutMs = spec.timeoutMs;
  }

  async check(run: HookRun): Promise<HookOutcome> {
    const url = renderTemplate(this.spec.url, run.values);
    const colour = renderTemplate(this.spec.header.value, run.values);
    const expected = renderTemplate(this.spec.expect.value, run.values);

    const bogus = `rr-nonexistent-${randomBytes(4).toString('hex')}`;
    const bogusValues = Object.fromEntries(TEMPLATE_VARIABLES.map((v) => [v, bogus])) as TemplateValues;
    const bogusColour = renderTemplate(this.spec.header.value, bogusValues);
    const probe = await this.request(url, bogusColour, run.signal);
    if (probe.kind === 'error') {
      return { passed: false, observed: 'unreachable', message: `${url} is unreachable: ${probe.message}` };
    }
    if (probe.status < 400 && probe.version === expected) {
      return {
        passed: false, observed: 'colour not routed',
        message: `a request for colour ${bogusColour}, which names no version, was answered by the expected version ${expected}: ${this.spec.header.name} does not select the version (header route missing?), so the probe would prove nothing`,
      };
    }
    const echoed = renderTemplate(this.spec.expect.value, bogusValues);
    if (probe.status < 400 && probe.version === echoed) {
      return { passed: false, observed: 'colour echoed', message: `a request for colour ${bogusColour}, which names no version, was answered as version ${echoed}: the answer echoes the request instead of naming the version that served it` };
    }

    const answers: Answer[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.spec.requests && timeLeft(run) > 0) {
        next++;
        answers.push(await this.request(url, colour, run.signal));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.spec.concurrency, this.spec.requests) }, worker));
    const notSent = this.spec.requests - answers.length;

    const good = answers.filter((a) => a.kind === 'version' && a.status < 400 && a.version === expected).length;
    const share = good / this.spec.requests;
    const passed = share >= this.spec.minShare;
    const tally = new Map<string, number>();
    for (const a of answers) {
      if (a.kind === 'version' && a.status < 400 && a.version === expected) continue;
      const key = a.kind === 'error' ? `connection error (${a.message})` : a.status >= 400 ? `HTTP ${a.status}` : `answered by ${a.version === undefined ? 'no version' : `version ${a.version}`}`;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    if (notSent) tally.set('not sent before the timeout', notSent);
    const others = [...tally].map(([k, n]) => `${n} ${k}`).join(', ');
    return {
      passed,
      observed: `${share.toFixed(3)} (${good}/${this.spec.requests})`,
      message: `${good}/${this.spec.requests} requests with ${this.spec.header.name}: ${colour} answered by version ${expected} (need share ${this.spec.minShare})${others ? `; ${others}` : ''}; a nonexistent colour was ${probe.status >= 400 ? `refused (HTTP ${probe.status})` : `answered by ${probe.version ?? 'no version'}`}`,
    };
  }

  private async request(url: string, colour: string, signal: AbortSignal): Promise<Answer> {
    try {
      const res = await fetch(url, { method: this.spec.method, headers: { [this.spec.header.name]: colour }, redirect: 'manual', signal });
      let version: string | undefined;
      if (this.spec.expect.header) {
        version = res.headers.get(this.spec.expect.header) ?? undefined;
        await res.body?.cancel();
      } else {
        const body = (await res.text()).slice(0, MAX_BODY);
        const m = this.spec.expect.body!.exec(body);
        version = m ? (m[1] ?? m[0]) : undefined;
      }
      return { kind: 'version', status: res.status, version };
    } catch (err) {
      return { kind: 'error', message: errorText(err) };
    }
  }
}
