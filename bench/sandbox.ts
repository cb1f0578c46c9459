/**
 * `npm run bench -- sandbox [--sandbox DIR] [--rounds 3]`
 *
 * Cold start of the two-cluster sandbox with cached binaries: `sandbox down`, then `sandbox up`
 * until both clusters are ready (nodes Ready, CRDs Established, Argo Rollouts healthy), timed per
 * round. The bar is under 60 s; this prints the measurement and leaves the sandbox up.
 */
import { sandboxDown, sandboxUp } from '../src/sandbox/index.js';
import { arg, median } from './args.js';


export async function benchSandbox(args: string[]): Promise<number> {
  const dir = arg(args, '--sandbox', '.sandbox-bench');
  const rounds = Number(arg(args, '--rounds', '3'));
  // The first up builds or finds the binaries; it is not timed.
  await sandboxUp({ dir, log: () => {} });
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await sandboxDown({ dir, log: () => {} });
    const t0 = performance.now();
    await sandboxUp({ dir, log: () => {} });
    times.push((performance.now() - t0) / 1000);
    process.stdout.write(`  round ${i + 1}: sandbox down → up, both clusters ready in ${times[i]!.toFixed(1)} s\n`);
  }
  process.stdout.write(`  median ${median(times).toFixed(1)} s, worst ${Math.max(...times).toFixed(1)} s (bar: under 60 s)\n`);
  if (!args.includes('--keep')) await sandboxDown({ dir, log: () => {} });
  return 0;
}
