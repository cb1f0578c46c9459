/**
 * Child process for the streaming memory check: verifies BUNDLE against SIG with PUB (no objects
 * kept) and prints one JSON line with the peak resident-set growth during verification.
 * Usage: node --import tsx bench/verify-rss.ts BUNDLE SIG PUB
 */
import { readFileSync } from 'node:fs';
import { policyFromPublicKeys } from '../src/policy/index.js';
import { verifyBundleFile } from '../src/verify/index.js';

const [bundlePath, signaturePath, pub] = process.argv.slice(2) as [string, string, string];
const policy = policyFromPublicKeys([{ pem: readFileSync(pub), origin: pub }]);
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const baseRss = process.memoryUsage().rss;
const baseMaxRss = process.resourceUsage().maxRSS * 1024;
let peak = baseRss;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
const t0 = performance.now();
const v = await verifyBundleFile({ bundlePath, signaturePath, policy, target: 'shenzhen', loadObjects: false, limits: { maxBundleBytes: 2 * 1024 ** 3 } });
const ms = performance.now() - t0;
clearInterval(timer);
// maxRSS survives exec on Linux (it can carry the parent's peak), so only count it once it moved.
const maxRss = process.resourceUsage().maxRSS * 1024;
peak = Math.max(peak, process.memoryUsage().rss, maxRss > baseMaxRss ? maxRss : 0);
console.log(JSON.stringify({ digest: v.digest, size: v.size, files: v.index.files.length, ms, baseRss, baseMaxRss, peakRss: peak, growth: peak - Math.max(baseRss, 0) }));
