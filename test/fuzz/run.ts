/**
 * Fuzzing of a signed bundle and its envelope. `npm run fuzz [-- COUNT [SEED [STRUCTURED_COUNT]]]`;
 * the seed is printed so a run can be replayed.
 * - single-byte: COUNT (default 10,000) one-byte mutations of the bundle or the envelope (issue 4);
 * - structure-aware: STRUCTURED_COUNT (default 2,000) hostile changes of meaning: index.json and
 *   statement fields (huge arrays, deep nesting, control characters, impossible dates, prototype
 *   keys), envelope structure, keys in alternate encodings, tar entries (issue 13).
 * Both must end with 0 accepted and 0 crashes.
 */
import { fuzzSingleByte } from './mutate.js';
import { fuzzStructured } from './structured.js';

const count = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? (Date.now() % 2 ** 31));
const structuredCount = Number(process.argv[4] ?? 2_000);
console.log(`fuzz: seed ${seed} (replay: npm run fuzz -- ${count} ${seed} ${structuredCount})`);

let t0 = performance.now();
const r = await fuzzSingleByte(seed, count);
let secs = (performance.now() - t0) / 1000;
console.log(`fuzz single-byte: ${r.mutations} mutations (${r.bundleMutations} bundle, ${r.envelopeMutations} envelope) in ${secs.toFixed(1)} s`);
console.log(`fuzz single-byte: refusals by code ${JSON.stringify(r.codes)}`);
console.log(`fuzz single-byte: accepted ${r.accepted.length}, crashes ${r.crashes.length}`);
for (const a of r.accepted.slice(0, 10)) console.log(`  ACCEPTED ${JSON.stringify(a)}`);
for (const c of r.crashes.slice(0, 10)) console.log(`  CRASH ${JSON.stringify(c)}`);

t0 = performance.now();
const s = await fuzzStructured(seed, structuredCount);
secs = (performance.now() - t0) / 1000;
console.log(`fuzz structure-aware: ${s.mutations} mutations ${JSON.stringify(s.byKind)} in ${secs.toFixed(1)} s, slowest verification ${s.slowestMs.toFixed(0)} ms`);
console.log(`fuzz structure-aware: refusals by code ${JSON.stringify(s.codes)}`);
console.log(`fuzz structure-aware: accepted ${s.accepted.length}, crashes ${s.crashes.length}`);
for (const a of s.accepted.slice(0, 10)) console.log(`  ACCEPTED ${JSON.stringify(a)}`);
for (const c of s.crashes.slice(0, 10)) console.log(`  CRASH ${JSON.stringify(c)}`);

process.exitCode = r.accepted.length + r.crashes.length + s.accepted.length + s.crashes.length === 0 ? 0 : 1;
