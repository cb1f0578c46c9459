import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { loadRelayConfig } from '../../../src/config/load.js';
import { startController, type RunningController } from '../../../src/controller/run.js';
import type { StartControllerOptions } from '../../../src/controller/run.js';
import { Reflector } from '../../../src/controller/reflector.js';
import { kubeListerWatcher } from '../../../src/controller/kube-source.js';
import { statusFromData, type StatusRecord } from '../../../src/status/model.js';
import { kubeConfig, sandbox } from '../support/sandbox.js';
import { RelaySetup, deleteDrNamespaces, drStatus } from '../promote/support.js';

export { drVersions } from '../promote/support.js';

export const SELECTOR_LABEL = 'rollout-relay.io/promote';

/** Puts the controller's selector label on the workloads of an application. */
export function selected(objects: KubernetesObject[]): KubernetesObject[] {
  return objects.map((o) => (o.kind === 'Rollout' || o.kind === 'Deployment' ? { ...o, metadata: { ...o.metadata, labels: { ...o.metadata?.labels, [SELECTOR_LABEL]: 'true' } } } : o));
}

export interface ControllerSetupOptions {
  namespaces: string[];
  leaseNamespace?: string;
  listen?: string;
  targets?: Record<string, unknown>[];
  extra?: Record<string, unknown>;
}

/** A RelaySetup whose config also runs the controller: watch scope, HTTP server with a notify token, optional Lease. */
export class ControllerSetup extends RelaySetup {
  readonly token = randomBytes(24).toString('hex');

  constructor(opts: ControllerSetupOptions) {
    const tokenFile = 'notify.token';
    super({
      ...(opts.targets ? { targets: opts.targets } : {}),
      extra: {
        watch: { namespaces: opts.namespaces },
        server: { listen: opts.listen ?? '127.0.0.1:0', tokenFile },
        ...(opts.leaseNamespace ? { leaderElection: { namespace: opts.leaseNamespace, leaseName: 'rollout-relay' } } : {}),
        ...opts.extra,
      },
    });
    writeFileSync(join(this.dir, tokenFile), this.token + '\n', { mode: 0o600 });
  }
}

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** The controller in this process, with its JSON log lines captured for assertions. */
export class InProcessController {
  readonly lines: LogLine[] = [];
  running!: RunningController;

  static async start(setup: RelaySetup, tuning: StartControllerOptions['tuning'] = {}): Promise<InProcessController> {
    const c = new InProcessController();
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) c.lines.push(JSON.parse(l) as LogLine);
        if (process.env.ROLLOUT_RELAY_TEST_LOGS === '1') process.stderr.write(chunk);
        cb();
      },
    });
    const log = pino({ level: 'debug', base: {}, formatters: { level: (label) => ({ level: label }) } }, sink);
    c.running = await startController(loadRelayConfig(setup.configPath), { log, tuning: { retryInitialMs: 500, retryMaxMs: 3000, shutdownGraceMs: 2000, ...tuning } });
    return c;
  }

  get url(): string {
    return `http://127.0.0.1:${this.running.server!.port}`;
  }

  logged(msg: string, where: (l: LogLine) => boolean = () => true): LogLine[] {
    return this.lines.filter((l) => l.msg === msg && where(l));
  }

  async stop(): Promise<void> {
    await this.running.stop();
  }
}

/**
 * The in-process controller a test of the calling `describe` starts: an afterEach hook (registered
 * here) stops it, also after a failure, then deletes the namespaces promotions created in DR.
 */
export function controllerPerTest(): ControllerPerTest {
  const slot = new ControllerPerTest();
  afterEach(async () => {
    await slot.stop();
    await deleteDrNamespaces();
  });
  return slot;
}

export class ControllerPerTest {
  private current: InProcessController | undefined;

  async start(setup: RelaySetup, tuning: StartControllerOptions['tuning'] = {}): Promise<InProcessController> {
    this.current = await InProcessController.start(setup, tuning);
    return this.current;
  }

  /** Stops the running controller, if any. */
  async stop(): Promise<void> {
    await this.current?.stop();
    this.current = undefined;
  }
}

const BIN = fileURLToPath(new URL('../../../src/cli/bin.ts', import.meta.url));

/** The real CLI `rollout-relay controller` in a child process, its JSON log lines parsed as they come. */
export class ControllerProcess {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  exited: Promise<number | null>;

  constructor(configPath: string, readonly name: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', BIN, 'controller', '--config', configPath, '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    this.child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push({ ...(JSON.parse(line) as LogLine), at: Date.now() });
        } catch {
          // not JSON: ignore
        }
        if (process.env.ROLLOUT_RELAY_TEST_LOGS === '1') process.stderr.write(`[${name}] ${line}\n`);
      }
    });
    this.child.stderr!.on('data', (c: Buffer) => process.stderr.write(`[${name} stderr] ${c.toString()}`));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get identity(): string | undefined {
    return this.lines.find((l) => l.msg === 'controller started')?.identity as string | undefined;
  }

  logged(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}

type StatusConfigMap = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string }; data?: Record<string, string> };

/** Every version of one DR status ConfigMap, in the order the API server delivered them. */
export class StatusHistory {
  readonly records: (StatusRecord & { resourceVersion: string; at: number })[] = [];
  private readonly reflector: Reflector<StatusConfigMap>;

  constructor(ns: string, app: string) {
    this.reflector = new Reflector(kubeListerWatcher<StatusConfigMap>(kubeConfig('dr'), { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespace: ns, fieldSelector: `metadata.name=rollout-relay-status-${app}` }, 'test status history'));
    const add = (cm: { metadata?: { resourceVersion?: string }; data?: Record<string, string> }) => this.records.push({ ...statusFromData(cm.data), resourceVersion: cm.metadata?.resourceVersion ?? '', at: Date.now() });
    this.reflector.on('add', add);
    this.reflector.on('update', add);
    this.reflector.start();
  }

  async stop(): Promise<void> {
    await this.reflector.stop();
  }

  get last(): StatusRecord | undefined {
    return this.records.at(-1);
  }

  /** How many times the record entered `completed` for this revision. */
  completions(revision: string): number {
    let n = 0;
    let prev = '';
    for (const r of this.records) {
      if (r.state === 'completed' && r.revision === revision && !(prev === 'completed')) n++;
      prev = r.state;
    }
    return n;
  }
}

/** A TCP relay on a fixed loopback port to the DR API server, switched on and off: an unreachable target that comes back. */
export class SwitchableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly upstream: { host: string; port: number }) {}

  async on(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const up = connect(this.upstream.port, this.upstream.host);
      this.sockets.add(client).add(up);
      client.pipe(up).pipe(client);
      const done = () => { client.destroy(); up.destroy(); this.sockets.delete(client); this.sockets.delete(up); };
      client.on('error', done).on('close', done);
      up.on('error', done).on('close', done);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.server = server;
  }

  async off(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** host/port of the DR API server of the sandbox. */
export function drServer(): { host: string; port: number } {
  const dr = sandbox().clusters.find((c) => c.spec.context === 'dr')!;
  const url = new URL(dr.server);
  return { host: url.hostname, port: Number(url.port) };
}

export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function post(url: string, body: unknown, token?: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

/** True once DR records `application` completed at `podTemplateHash`. */
export async function drCompleted(application: string, podTemplateHash: string): Promise<boolean> {
  const st = await drStatus(application).catch(() => undefined);
  return st?.state === 'completed' && st.podTemplateHash === podTemplateHash;
}

/**
 * Cordons every DR node, so no new pod in DR can be scheduled and no new revision there becomes
 * healthy: a promotion then stays in `applying` for as long as the test needs, however fast the
 * machine. Returns the release (uncordon), which lets the pending pods schedule at once.
 */
export async function holdDrScheduling(): Promise<() => Promise<void>> {
  const core = kubeConfig('dr').makeApiClient(CoreV1Api);
  const nodes = (await core.listNode()).items.map((n) => n.metadata!.name!);
  const cordon = (unschedulable: boolean) => Promise.all(nodes.map((name) =>
    core.patchNode({ name, body: { spec: { unschedulable } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))));
  await cordon(true);
  return async () => {
    await cordon(false);
  };
}
