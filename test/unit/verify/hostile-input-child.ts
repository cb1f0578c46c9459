/**
 * Child process for the hostile-input memory test: runs one operation on prepared files and prints
 * one JSON line with the refusal code, the time it took and the peak resident-set growth.
 * Usage: node --expose-gc --import tsx hostile-input-child.ts verify|inspect BUNDLE [ENVELOPE]
 *
 * RSS is sampled by a worker thread, which keeps running while the main thread is stuck in
 * synchronous parsing; maxRSS is counted too, but only once it moved (it can carry the parent's
 * peak across fork and exec on Linux).
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { inspectBundle } from '../../../src/bundle/index.js';
import { isRelayError } from '../../../src/errors.js';
import { verifyBundleBytes } from '../../../src/verify/index.js';
import { testPolicy } from '../../helpers/bundle-fixtures.js';

const [op, bundlePath, envelopePath] = process.argv.slice(2) as [string, string, string | undefined];
const policy = testPolicy(['test-ecdsa', 'test-ed25519'], 1);
const bundle = readFileSync(bundlePath);
const envelope = envelopePath ? readFileSync(envelopePath) : undefined;

const peak = new BigInt64Array(new SharedArrayBuffer(8));
const sampler = new Worker(
  `const { workerData } = require('node:worker_threads');
   const peak = new BigInt64Array(workerData);
   setInterval(() => { const r = BigInt(process.memoryUsage.rss()); if (r > Atomics.load(peak, 0)) Atomics.store(peak, 0, r); }, 1);`,
  { eval: true, workerData: peak.buffer },
);
await new Promise((r) => setTimeout(r, 100));
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setTimeout(r, 20));
const baseRss = process.memoryUsage.rss();
Atomics.store(peak, 0, BigInt(baseRss));
const baseMaxRss = process.resourceUsage().maxRSS * 1024;

let code = 'ACCEPTED';
let message = '';
const t0 = performance.now();
try {
  if (op === 'verify') await verifyBundleBytes(bundle, envelope!, { policy, target: 'shenzhen' });
  else await inspectBundle(bundlePath);
} catch (err) {
  code = isRelayError(err) ? err.code : `CRASH ${String(err)}`;
  message = err instanceof Error ? err.message : String(err);
}
const ms = performance.now() - t0;
await new Promise((r) => setTimeout(r, 10));
const maxRss = process.resourceUsage().maxRSS * 1024;
const peakRss = Math.max(Number(Atomics.load(peak, 0)), process.memoryUsage.rss(), maxRss > baseMaxRss ? maxRss : 0);
await sampler.terminate();
console.log(JSON.stringify({ code, messageLength: message.length, message: message.slice(0, 200), ms, growth: peakRss - baseRss }));
