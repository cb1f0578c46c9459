/**
 * `npm run bench -- <name> [args]`. Each benchmark is a module registered here; add one by adding
 * an entry (e.g. `apply: async (args) => (await import('./apply.js')).benchApply(args)`).
 */
type Bench = (args: string[]) => Promise<number>;

const BENCHES: Record<string, { describe: string; run: Bench }> = {
  apply: { describe: 'apply 300 objects across 10 namespaces into the DR sandbox vs kubectl apply --server-side ([--sandbox DIR])', run: async (args) => (await import('./apply.js')).benchApply(args) },
  promote: {
    describe: 'controller: detection → completed p50/p99 for a 20-object application vs kubectl get + apply --server-side; 50 applications at once ([--sandbox DIR] [--rounds 20] [--apps 50])',
    run: async (args) => (await import('./promote.js')).benchPromote(args),
  },
  drill: {
    describe: 'the sandbox drill (promote, cut primary\'s kube-apiserver, verify DR, failback) N times: RTO and RPO median/max vs one kubectl get ([--sandbox DIR] [--rounds 5])',
    run: async (args) => (await import('./drill.js')).benchDrill(args),
  },
  sandbox: { describe: 'sandbox down → up with cached binaries, timed ([--sandbox DIR] [--rounds N] [--keep])', run: async (args) => (await import('./sandbox.js')).benchSandbox(args) },
  bundle: {
    describe: 'bundle create (5,000 objects), verify throughput vs sha256sum (>= 256 MiB), 1 GiB streaming memory',
    run: async (args) => (await import('./bundle.js')).benchBundle(args),
  },
  'bundle-memory': {
    describe: 'only the 1 GiB streaming-verify memory check ([--memory-gib N])',
    run: async (args) => {
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = mkdtempSync(join(tmpdir(), 'rr-bench-'));
      try {
        const i = args.indexOf('--memory-gib');
        return await (await import('./bundle.js')).benchMemory(dir, i >= 0 ? Number(args[i + 1]) : 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
};

const [name, ...args] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  console.error(`usage: npm run bench -- <name> [args]\n${Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(14)} ${b.describe}`).join('\n')}`);
  process.exitCode = 2;
} else {
  console.log(`bench ${name} (node ${process.version}, ${new Date().toISOString()})`);
  process.exitCode = await bench.run(args);
}
