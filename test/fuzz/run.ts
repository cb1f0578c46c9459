/**
 * Full single-byte mutation fuzz of a signed bundle and its envelope (issue 4: ≥ 10,000 mutations,
 * 0 accepted, 0 crashes). `npm run fuzz [-- COUNT [SEED]]`; the seed is printed so a run can be replayed.
 */
import { fuzzSingleByte } from './mutate.js';

const count = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? (Date.now() % 2 ** 31));
console.log(`fuzz: ${count} single-byte mutations, seed ${seed} (replay: npm run fuzz -- ${count} ${seed})`);
const t0 = performance.now();
const r = await fuzzSingleByte(seed, count);
const secs = (performance.now() - t0) / 1000;
console.log(`fuzz: ${r.mutations} mutations (${r.bundleMutations} bundle, ${r.envelopeMutations} envelope) in ${secs.toFixed(1)} s`);
console.log(`fuzz: refusals by code ${JSON.stringify(r.codes)}`);
console.log(`fuzz: accepted ${r.accepted.length}, crashes ${r.crashes.length}`);
for (const a of r.accepted.slice(0, 10)) console.log(`  ACCEPTED ${JSON.stringify(a)}`);
for (const c of r.crashes.slice(0, 10)) console.log(`  CRASH ${JSON.stringify(c)}`);
process.exitCode = r.accepted.length === 0 && r.crashes.length === 0 ? 0 : 1;
