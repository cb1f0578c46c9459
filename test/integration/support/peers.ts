import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../../../src/sandbox/ports.js';

/**
 * Real peer programs for the hook tests (nginx, Prometheus), started by the test as the current
 * user on loopback with their own config and data in a temp dir (never the system service), and
 * small node:http servers standing for the DR versions and an exporter.
 */

/** A Debian package's binary (also in /usr/sbin, which a non-root PATH may lack). .ci/run installs them. */
function binary(name: string, pkg: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin']) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  throw new Error(`${name} is not installed: install the Debian package ${pkg} (apt-get install ${pkg}; .ci/run does this)`);
}

async function waitUntil(what: string, ok: () => Promise<boolean> | boolean, log: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await ok()) return;
    } catch {
      // not yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms; log:\n${log()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A real nginx on a loopback port; `http` is the inside of its http {} block with PORT replaced. */
export class Nginx {
  private constructor(readonly dir: string, readonly port: number, private readonly child: ChildProcess) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(http: string): Promise<Nginx> {
    const bin = binary('nginx', 'nginx');
    const dir = mkdtempSync(join(tmpdir(), 'rr-nginx-'));
    for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, 'tmp', t), { recursive: true });
    const [port] = (await freePorts(1)) as [number];
    writeFileSync(join(dir, 'nginx.conf'), Nginx.config(dir, port, http));
    const child = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'ignore'] });
    const nginx = new Nginx(dir, port, child);
    await waitUntil('nginx listening', async () => (await fetch(`${nginx.url}/`).then((r) => r.arrayBuffer()), true), () => nginx.log());
    return nginx;
  }

  private static config(dir: string, port: number, http: string): string {
    return [
      // As root the workers would switch to nobody, who cannot use this private temp dir.
      ...(process.getuid?.() === 0 ? [`user ${userInfo().username};`] : []),
      'daemon off;', 'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log notice;`,
      'events { worker_connections 256; }',
      'http {', '  access_log off;',
      ...['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t === 'body' ? 'client_body' : t}_temp_path ${dir}/tmp/${t};`),
      http.replaceAll('PORT', String(port)), '}', '',
    ].join('\n');
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8');
    } catch {
      return '(no log)';
    }
  }

  /** Writes a new http block and reloads (SIGHUP); resolves when the new workers run and the old ones left. */
  async reload(http: string): Promise<void> {
    writeFileSync(join(this.dir, 'nginx.conf'), Nginx.config(this.dir, this.port, http));
    const before = this.log().split('\n').length;
    this.child.kill('SIGHUP');
    await waitUntil('nginx reload', () => {
      const fresh = this.log().split('\n').slice(before - 1).join('\n');
      if (/\[emerg\]/.test(fresh)) throw new Error(`nginx refused the new config:\n${fresh}`);
      return /start worker process/.test(fresh) && /(gracefully shutting down|exited with code)/.test(fresh);
    }, () => this.log());
    await sleep(200); // the old worker closes its idle connections
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A real Prometheus scraping `targets` every second, with its own TSDB in a temp dir. */
export class Prometheus {
  private constructor(readonly dir: string, readonly port: number, private readonly child: ChildProcess) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targets: string[]): Promise<Prometheus> {
    const bin = binary('prometheus', 'prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'rr-prometheus-'));
    const [port] = (await freePorts(1)) as [number];
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: dr-app',
      `    static_configs: [{targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]}]`, '',
    ].join('\n'));
    const logPath = join(dir, 'prometheus.log');
    const log = (): string => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '(no log)');
    const child = spawn(bin, [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => writeFileSync(logPath, c, { flag: 'a' }));
    const prom = new Prometheus(dir, port, child);
    await waitUntil('Prometheus ready', async () => (await fetch(`${prom.url}/-/ready`)).status === 200, log, 30_000);
    return prom;
  }

  /** Waits until every target was scraped at least `scrapes` times (rate() needs two samples). */
  async waitScraped(scrapes = 3): Promise<void> {
    await waitUntil(`${scrapes} scrapes`, async () => {
      const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent('min(count_over_time(up[1m]))')}`);
      const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
      return Number(body.data?.result?.[0]?.value?.[1] ?? 0) >= scrapes;
    }, () => '', 30_000);
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no address');
  return a.port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One DR version of the application: answers with `x-version: <version>`; every `errorEvery`-th request with 500. */
export class VersionServer {
  private constructor(readonly version: string, readonly port: number, private readonly server: Server, private readonly counter: { n: number }) {}

  get requests(): number {
    return this.counter.n;
  }

  static async start(version: string, opts: { errorEvery?: number } = {}): Promise<VersionServer> {
    const counter = { n: 0 };
    const server = createServer((_req, res) => {
      const n = ++counter.n;
      const fail = opts.errorEvery !== undefined && n % opts.errorEvery === 0;
      res.writeHead(fail ? 500 : 200, { 'x-version': version, 'content-type': 'text/plain' });
      res.end(fail ? 'internal error\n' : `served by version ${version}\n`);
    });
    return new VersionServer(version, await listen(server), server, counter);
  }

  stop(): Promise<void> {
    return close(this.server);
  }
}

/** An exporter with per-version request and error counters that grow while it runs. */
export class Exporter {
  private readonly counts = new Map<string, { ok: number; errors: number }>();
  private readonly timer = setInterval(() => this.tick(), 100);
  private readonly server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(this.text());
  });
  private port = 0;

  private constructor(private readonly traffic: Map<string, { rps: number; errorRatio: number }>) {}

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `traffic`: requests per second and error ratio per version label. */
  static async start(traffic: Record<string, { rps: number; errorRatio: number }>): Promise<Exporter> {
    const ex = new Exporter(new Map(Object.entries(traffic)));
    ex.port = await listen(ex.server);
    return ex;
  }

  private tick(): void {
    for (const [version, t] of this.traffic) {
      const c = this.counts.get(version) ?? { ok: 0, errors: 0 };
      const n = t.rps / 10;
      c.errors += n * t.errorRatio;
      c.ok += n * (1 - t.errorRatio);
      this.counts.set(version, c);
    }
  }

  private text(): string {
    const lines = ['# HELP http_requests_total Requests served, by version and status code.', '# TYPE http_requests_total counter'];
    for (const [version, c] of this.counts) {
      lines.push(`http_requests_total{app="checkout",version="${version}",code="200"} ${c.ok}`);
      lines.push(`http_requests_total{app="checkout",version="${version}",code="500"} ${c.errors}`);
    }
    return lines.join('\n') + '\n';
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await close(this.server);
  }
}
