import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const require = createRequire(import.meta.url);
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The project's own Node 24 (the `node` dev dependency): gitlab-ci-local needs Node 22+. */
const NODE = process.execPath;
const GITLAB_CI_LOCAL = join(dirname(require.resolve('gitlab-ci-local/package.json')), 'dist', 'index.js');
const TSX = require.resolve('tsx');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** dist/ built after the last change to src/ (a stale build would test old code). */
function distIsFresh(): boolean {
  const bin = join(REPO, 'dist/cli/bin.js');
  return existsSync(bin) && newestMtime(join(REPO, 'dist')) >= newestMtime(join(REPO, 'src'));
}

export interface PipelineRun {
  code: number;
  output: string;
  /** Jobs gitlab-ci-local started (from its per-job logs). */
  jobs: string[];
  /** A file a job kept as an artifact (artifacts:paths), or undefined. */
  artifact(job: string, path: string): string | undefined;
  /** A job's dotenv report as gitlab-ci-local stored it. */
  dotenv(job: string): Record<string, string>;
  log(job: string): string;
}

/**
 * A GitLab project in a temp git repository, run by the real gitlab-ci-local in shell-executor
 * mode. `rollout-relay` on the jobs' PATH runs this checkout's CLI from source (tsx) on the
 * project's Node. CI/CD variables come from .gitlab-ci-local-variables.yml, the file
 * gitlab-ci-local reads as the project's CI/CD settings (never committed to the project).
 */
export class GitLabProject {
  readonly dir = mkdtempSync(join(tmpdir(), 'rr-gitlab-'));
  private readonly bin = join(this.dir, '..', `${this.dir.split('/').pop()}-bin`);

  constructor() {
    mkdirSync(this.bin);
    const shim = join(this.bin, 'rollout-relay');
    // The build when it is newer than every source file (npm ci builds it), else the sources through tsx.
    const cli = distIsFresh() ? `"${join(REPO, 'dist/cli/bin.js')}"` : `--import "${TSX}" "${join(REPO, 'src/cli/bin.ts')}"`;
    writeFileSync(shim, `#!/bin/sh\nexec "${NODE}" ${cli} "$@"\n`);
    chmodSync(shim, 0o755);
    this.git('init', '-q', '-b', 'main');
    // gitlab-ci-local derives CI_PROJECT_PATH and friends from the origin remote (never fetched here).
    this.git('remote', 'add', 'origin', 'https://gitlab.example.com/acme/checkout.git');
    this.git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  }

  write(path: string, text: string): this {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    writeFileSync(join(this.dir, path), text);
    return this;
  }

  copyFromRepo(path: string): this {
    mkdirSync(dirname(join(this.dir, path)), { recursive: true });
    cpSync(join(REPO, path), join(this.dir, path));
    return this;
  }

  /** CI/CD variables; `file: true` makes a File-type variable (the job sees a path to a file with the value). */
  variables(vars: Record<string, { value: string; file?: boolean }>): this {
    const doc: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(vars)) doc[k] = v.file ? { type: 'file', values: { '*': v.value } } : v.value;
    writeFileSync(join(this.dir, '.gitlab-ci-local-variables.yml'), stringify(doc));
    return this;
  }

  commit(message: string): this {
    this.git('add', '-A', '--', '.', ':!.gitlab-ci-local-variables.yml');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this;
  }

  private git(...args: string[]): void {
    execFileSync('git', ['-c', 'user.name=rollout-relay test', '-c', 'user.email=test@rollout-relay.invalid', ...args], { cwd: this.dir, stdio: 'pipe' });
  }

  /** Runs the whole pipeline; resolves with its exit code and output (never rejects on a failed pipeline). */
  run(extraArgs: string[] = []): Promise<PipelineRun> {
    rmSync(join(this.dir, '.gitlab-ci-local'), { recursive: true, force: true });
    // The jobs get only what a runner would give them: no kubeconfig or token from this process.
    const env: NodeJS.ProcessEnv = { PATH: `${this.bin}:${dirname(NODE)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' };
    const args = [GITLAB_CI_LOCAL, '--force-shell-executor', '--shell-isolation', '--no-color', ...extraArgs];
    const dir = this.dir;
    return new Promise((resolve) => {
      execFile(NODE, args, { cwd: this.dir, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        // One line per pipeline with gitlab-ci-local's own timings (jobs and the whole pipeline).
        const timings = [...`${stdout}${stderr}`.matchAll(/^(\S+)\s+finished in ([\d.]+ m?s)|^pipeline finished in ([\d.]+ m?s)/gm)]
          .map((m) => (m[3] ? `pipeline ${m[3]}` : `${m[1]} ${m[2]}`));
        console.log(`      gitlab-ci-local exit ${code}: ${timings.join(', ')}`);
        const outDir = join(dir, '.gitlab-ci-local', 'output');
        const jobs = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4)) : [];
        const artifactPath = (job: string, path: string) => join(dir, '.gitlab-ci-local', 'artifacts', job, path);
        resolve({
          code,
          output: `${stdout}${stderr}`,
          jobs,
          artifact: (job, path) => (existsSync(artifactPath(job, path)) ? readFileSync(artifactPath(job, path), 'utf8') : undefined),
          dotenv: (job) => {
            const d = artifactPath(job, '.gitlab-ci-reports/dotenv');
            const out: Record<string, string> = {};
            if (!existsSync(d)) return out;
            for (const f of readdirSync(d)) {
              for (const line of readFileSync(join(d, f), 'utf8').split('\n')) {
                const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
                if (m) out[m[1]!] = m[2]!;
              }
            }
            return out;
          },
          log: (job) => (existsSync(join(outDir, `${job}.log`)) ? readFileSync(join(outDir, `${job}.log`), 'utf8') : ''),
        });
      });
    });
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.bin, { recursive: true, force: true });
  }
}
