/**
 * `npm run bench -- bundle [--size-mib N] [--memory-gib N] [--skip-memory]`
 * 1. bundle-create time for 5,000 objects (canonicalise, order, render, tar, hash; in memory)
 * 2. one ≥ 256 MiB bundle of many manifests: verify throughput (MiB/s) next to `sha256sum` and
 *    `openssl dgst -sha256` on the same file in the same run, and the ratios (goal ≥ 0.8× openssl:
 *    openssl uses the CPU's SHA extensions, so it is the real limit for bytes that must be hashed)
 * 3. streaming: verifying a 1 GiB bundle in a fresh process, peak RSS growth (limit 64 MiB)
 * Prints numbers; it asserts nothing about time (machines differ), only the memory limit sets the exit code.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createBundle, type KubeObject } from '../src/bundle/index.js';
import { policyFromPublicKeys } from '../src/policy/index.js';
import { generateSigningKeyPair, keySigner, publicKeyPem } from '../src/signing/index.js';
import { signBundleFile, verifyBundleFile } from '../src/verify/index.js';
import { arg, median } from './args.js';
import { BIG_META, writeBigBundle } from './big-bundle.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

function deployment(i: number): KubeObject {
  const name = `svc-${String(i).padStart(5, '0')}`;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: `team-${i % 50}`, uid: `uid-${i}`, resourceVersion: String(i), labels: { app: name, 'argocd.argoproj.io/instance': 'x' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:1.${i}`, ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'dr' }], resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
      },
    },
    status: { readyReplicas: 3 },
  };
}

async function timeIt<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}

export async function benchBundle(args: string[]): Promise<number> {
  const opt = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const sizeMiB = opt('--size-mib', 256);
  const memoryGiB = opt('--memory-gib', 1);
  const dir = mkdtempSync(join(tmpdir(), 'rr-bench-'));
  let exit = 0;
  try {
    // 1. create 5,000 objects
    const objects = Array.from({ length: 5000 }, (_, i) => deployment(i));
    createBundle(objects.slice(0, 100), BIG_META); // warm up
    const [created, createSecs] = await timeIt(async () => createBundle(objects, BIG_META));
    console.log(`create: 5000 objects -> ${(created.bytes.length / MiB).toFixed(1)} MiB bundle in ${createSecs.toFixed(2)} s (${(5000 / createSecs).toFixed(0)} objects/s)`);

    // 2. throughput on a >= 256 MiB bundle of many manifests
    const perObject = 32 * 1024;
    const count = Math.ceil((sizeMiB * MiB) / perObject) + 16;
    const bundlePath = join(dir, 'big.bundle.tar');
    const [big, genSecs] = await timeIt(() => writeBigBundle(bundlePath, count, perObject));
    console.log(`bundle: ${count} manifests, ${(big.size / MiB).toFixed(1)} MiB written in ${genSecs.toFixed(1)} s`);
    const { privateKey, publicKey } = generateSigningKeyPair('ecdsa-p256');
    const pubPath = join(dir, 'k.pub');
    writeFileSync(pubPath, publicKeyPem(publicKey));
    await signBundleFile({ bundlePath, signers: [keySigner(privateKey)] });
    const policy = policyFromPublicKeys([{ pem: publicKeyPem(publicKey), origin: 'bench' }]);
    // CPU seconds next to wall seconds: on a shared machine wall time depends on what else runs, CPU time
    // much less. Verify's includes its digest worker thread (process.cpuUsage counts every thread).
    const vCpu: number[] = [];
    const sCpu: number[] = [];
    const oCpu: number[] = [];
    const verifyOnce = async () => {
      const c = process.cpuUsage();
      const r = await timeIt(() => verifyBundleFile({ bundlePath, policy, target: 'shenzhen', loadObjects: false }));
      const u = process.cpuUsage(c);
      vCpu.push((u.user + u.system) / 1e6);
      return r;
    };
    const childCpu = async <T>(into: number[], fn: () => Promise<T>): Promise<[T, number]> => {
      const c = childrenCpuSeconds();
      const r = await timeIt(fn);
      into.push(childrenCpuSeconds() - c);
      return r;
    };
    const shaOnce = () => childCpu(sCpu, () => run('sha256sum', [bundlePath]));
    const opensslOnce = () => childCpu(oCpu, () => run('openssl', ['dgst', '-sha256', '-r', bundlePath]));
    await shaOnce(); // page cache warm for all
    sCpu.length = 0;
    const rounds = Number(arg(args, '--rounds', '3'));
    const v: number[] = [];
    const s: number[] = [];
    const o: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const [res, vs] = await verifyOnce();
      if (res.digest !== big.digest) throw new Error('verify returned another digest');
      v.push(vs);
      const [out, ss] = await shaOnce();
      if (!out.stdout.startsWith(big.digest)) throw new Error('sha256sum disagrees with the bundle digest');
      s.push(ss);
      const [ossl, os] = await opensslOnce();
      if (!ossl.stdout.startsWith(big.digest)) throw new Error('openssl disagrees with the bundle digest');
      o.push(os);
    }
    const mib = big.size / MiB;
    const rate = (xs: number[]) => mib / median(xs);
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    console.log(`verify: ${rate(v).toFixed(0)} MiB/s (median of ${rounds}; runs ${runs(v)} s) — whole-file sha256 + per-file sha256 + tar checks + signature`);
    console.log(`sha256sum: ${rate(s).toFixed(0)} MiB/s (median of ${rounds}; runs ${runs(s)} s)`);
    console.log(`openssl dgst -sha256: ${rate(o).toFixed(0)} MiB/s (median of ${rounds}; runs ${runs(o)} s)`);
    const cpuRate = (xs: number[]) => mib / median(xs);
    console.log(`CPU time: verify ${median(vCpu).toFixed(2)} s (${cpuRate(vCpu).toFixed(0)} MiB per CPU-second, both threads), sha256sum ${median(sCpu).toFixed(2)} s, openssl ${median(oCpu).toFixed(2)} s; verify hashes every byte twice, so its floor is 2× openssl: verify CPU / openssl CPU = ${(median(vCpu) / median(oCpu)).toFixed(2)} (2.00 = nothing but the two digests)`);
    const perRound = (ref: number[]) => median(v.map((x, i) => ref[i]! / x));
    const vsOpenssl = perRound(o);
    console.log(`ratio verify/sha256sum: ${perRound(s).toFixed(2)}; verify/openssl: ${vsOpenssl.toFixed(2)} (goal >= 0.8 vs openssl: ${vsOpenssl >= 0.8 ? 'met' : 'NOT met'}) (medians of per-round ratios)`);
    rmSync(bundlePath);

    // 3. streaming memory on a 1 GiB bundle, in a fresh process
    if (!args.includes('--skip-memory')) exit = await benchMemory(dir, memoryGiB);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return exit;
}

/** User + system CPU seconds of this process's finished children (Linux /proc: cutime + cstime, in clock ticks of 1/100 s). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Writes a ~`gib` GiB bundle, verifies it in a child process, prints peak RSS growth; 1 when ≥ 64 MiB. */
export async function benchMemory(dir: string, gib = 1, limitMiB = 64): Promise<number> {
  const bundlePath = join(dir, 'huge.bundle.tar');
  const perObject = 256 * 1024;
  const count = Math.floor((gib * 1024 * MiB) / (perObject + 1024));
  const [big, genSecs] = await timeIt(() => writeBigBundle(bundlePath, count, perObject));
  console.log(`memory: ${count} manifests, ${(big.size / MiB).toFixed(0)} MiB bundle written in ${genSecs.toFixed(1)} s`);
  const { privateKey, publicKey } = generateSigningKeyPair('ed25519');
  const pubPath = join(dir, 'm.pub');
  writeFileSync(pubPath, publicKeyPem(publicKey));
  await signBundleFile({ bundlePath, signers: [keySigner(privateKey)], limits: { maxBundleBytes: 2 * 1024 ** 3 } });
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./verify-rss.ts', import.meta.url).pathname, bundlePath, `${bundlePath}.sig.json`, pubPath], { maxBuffer: MiB });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { digest: string; size: number; ms: number; baseRss: number; peakRss: number; growth: number };
  if (r.digest !== big.digest) throw new Error('memory check verified another digest');
  const growthMiB = r.growth / MiB;
  console.log(`memory: verified ${(r.size / MiB).toFixed(0)} MiB in ${(r.ms / 1000).toFixed(1)} s; RSS ${(r.baseRss / MiB).toFixed(0)} -> peak ${(r.peakRss / MiB).toFixed(0)} MiB, growth ${growthMiB.toFixed(1)} MiB (limit ${limitMiB} MiB): ${growthMiB < limitMiB ? 'PASS' : 'FAIL'}`);
  rmSync(bundlePath, { force: true });
  return growthMiB < limitMiB ? 0 : 1;
}
