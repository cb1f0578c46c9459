import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  createBundle,
  formatDigest,
  inspectBundle,
  loadManifestDir,
  parseDuration,
  writeFileAtomic,
  DEFAULT_EXPIRY_MS,
  type BundleMetaOptions,
} from '../../bundle/index.js';
import { readBoundedFile, MAX_KEY_FILE_BYTES } from '../../bounded-file.js';
import { RelayError } from '../../errors.js';
import { JsonFileSequenceStore, loadTrustPolicy, policyFromPublicKeys, type TrustPolicy } from '../../policy/index.js';
import { keySigner, loadPrivateKey, toSigstoreBundle } from '../../signing/index.js';
import { signBundleFile, verifyBundleFile, type VerifiedBundle } from '../../verify/index.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** A key file: a small regular file only (a path like /dev/zero is refused, not read forever). */
async function readKeyFile(path: string, what: string): Promise<string> {
  return (await readBoundedFile(path, { what, maxBytes: MAX_KEY_FILE_BYTES, code: 'KEY_INVALID' })).toString('utf8');
}

interface CreateOptions {
  from: string;
  out: string;
  sourceCluster: string;
  namespace: string;
  name?: string;
  kind: string;
  revision?: string;
  podTemplateHash?: string;
  commit?: string;
  sequence?: string;
  target: string[];
  expiresIn?: string;
  createdAt?: string;
  json?: boolean;
}

function parseCreatedAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) throw new RelayError('USAGE', `--created-at ${value} is neither RFC 3339 nor epoch seconds`);
  return d;
}

async function runCreate(opts: CreateOptions): Promise<void> {
  const objects = await loadManifestDir(opts.from);
  if (objects.length === 0) throw new RelayError('USAGE', `no manifests (*.yaml, *.yml, *.json) found under ${opts.from}`);
  let sequence: number | undefined;
  if (opts.sequence !== undefined) {
    if (!/^\d{1,15}$/.test(opts.sequence)) throw new RelayError('USAGE', `--sequence ${opts.sequence} must be a non-negative integer`);
    sequence = Number(opts.sequence);
  }
  const createdAt = parseCreatedAt(opts.createdAt) ?? new Date();
  const expiresAt = new Date(createdAt.getTime() + (opts.expiresIn !== undefined ? parseDuration(opts.expiresIn) : DEFAULT_EXPIRY_MS));
  const meta: BundleMetaOptions = {
    source: {
      cluster: opts.sourceCluster,
      namespace: opts.namespace,
      kind: opts.kind,
      name: opts.name ?? basename(resolve(opts.from)),
      ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
      ...(opts.podTemplateHash !== undefined ? { podTemplateHash: opts.podTemplateHash } : {}),
      ...(opts.commit !== undefined ? { commit: opts.commit } : {}),
    },
    ...(sequence !== undefined ? { sequence } : {}),
    createdAt,
    expiresAt,
    targets: opts.target,
  };
  const created = createBundle(objects, meta);
  await writeFileAtomic(opts.out, [created.bytes]);
  for (const d of created.dropped) process.stderr.write(`dropped ${d}\n`);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ digest: formatDigest(created.digest), path: opts.out, size: created.bytes.length, objects: created.objects.length, dropped: created.dropped, index: { ...created.index, files: undefined } }, null, 2) + '\n');
  } else {
    process.stdout.write(`${formatDigest(created.digest)}\n`);
  }
}

interface SignOptions {
  bundle: string;
  key: string[];
  out?: string;
  sigstoreOut?: string;
}

async function runSign(opts: SignOptions): Promise<void> {
  const signers = [];
  for (const k of opts.key) signers.push(keySigner(loadPrivateKey(await readKeyFile(k, 'key'), k)));
  if (opts.sigstoreOut !== undefined && signers.length !== 1) throw new RelayError('USAGE', '--sigstore-out holds one signature; give exactly one --key');
  const signed = await signBundleFile({ bundlePath: opts.bundle, signers, ...(opts.out !== undefined ? { out: opts.out } : {}) });
  if (opts.sigstoreOut !== undefined) {
    await writeFileAtomic(opts.sigstoreOut, [Buffer.from(JSON.stringify(toSigstoreBundle(signed.envelope), null, 2) + '\n')]);
  }
  process.stdout.write(`signed ${formatDigest(signed.digest)} with ${signers.map((s) => s.keyId).join(', ')} -> ${signed.signaturePath}\n`);
}

interface VerifyCliOptions {
  bundle: string;
  signature?: string;
  key?: string[];
  policy?: string;
  threshold?: string;
  target?: string;
  state?: string;
  json?: boolean;
}

export function verifySummary(v: VerifiedBundle): string {
  const signers = v.keyIds.map((id, i) => `${id.slice(0, 16)} (${v.keyNames[i]})`).join(', ');
  const seq = v.sequenceCheck === 'passed'
    ? `sequence ${v.index.sequence} checked (previous ${v.previousSequence ?? 'none'})`
    : `sequence ${v.index.sequence} NOT checked (no --state given)`;
  const target = v.targetCheck === 'passed' ? `target ${v.target} allowed` : 'target NOT checked (no --target given)';
  return `verified ${formatDigest(v.digest)} ${v.index.application} signed by ${signers}, threshold ${v.keyIds.length}/${v.threshold}; ${target}; ${seq}; expires ${v.index.expiresAt}`;
}

async function runVerify(opts: VerifyCliOptions): Promise<void> {
  const keys = opts.key ?? [];
  if ((keys.length > 0) === (opts.policy !== undefined)) throw new RelayError('USAGE', 'give either --key PUB (one or more) or --policy POLICY');
  let policy: TrustPolicy;
  if (opts.policy !== undefined) {
    if (opts.threshold !== undefined) throw new RelayError('USAGE', '--threshold applies to --key; a policy file sets its own threshold');
    policy = loadTrustPolicy(opts.policy);
  } else {
    const threshold = opts.threshold === undefined ? 1 : Number(opts.threshold);
    const pems = [];
    for (const k of keys) pems.push({ pem: await readKeyFile(k, 'public key'), origin: k });
    policy = policyFromPublicKeys(pems, threshold);
  }
  const verified = await verifyBundleFile({
    bundlePath: opts.bundle,
    ...(opts.signature !== undefined ? { signaturePath: opts.signature } : {}),
    policy,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.state !== undefined ? { stateStore: new JsonFileSequenceStore(opts.state) } : {}),
    loadObjects: false,
  });
  if (opts.json) {
    const { objects: _objects, statement: _statement, index, ...rest } = verified;
    process.stdout.write(JSON.stringify({ verified: true, ...rest, digest: formatDigest(verified.digest), index: { ...index, files: index.files.length } }, null, 2) + '\n');
  } else {
    process.stdout.write(verifySummary(verified) + '\n');
  }
}

async function runInspect(file: string, opts: { json?: boolean }): Promise<void> {
  const r = await inspectBundle(file);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ trusted: false, digest: formatDigest(r.digest), size: r.size, ...r.index, files: undefined, objects: r.objects }, null, 2) + '\n');
    return;
  }
  const i = r.index;
  const lines = [
    `bundle      ${file} (UNVERIFIED: inspect checks structure and file digests, not signatures)`,
    `digest      ${formatDigest(r.digest)}  ${r.size} bytes`,
    `format      ${i.formatVersion} by ${i.producer.name} ${i.producer.version}`,
    `application ${i.application}  sequence ${i.sequence}`,
    `source      ${i.source.cluster} ${i.source.kind} ${i.source.namespace}/${i.source.name}${i.source.revision ? ` revision ${i.source.revision}` : ''}${i.source.podTemplateHash ? ` hash ${i.source.podTemplateHash}` : ''}${i.source.commit ? ` commit ${i.source.commit}` : ''}`,
    `created     ${i.createdAt}  expires ${i.expiresAt}`,
    `targets     ${i.targets.length ? i.targets.join(', ') : '(any)'}`,
    `objects     ${r.objects.length}`,
    ...r.objects.map((o) => `  ${o.sha256.slice(0, 16)} ${String(o.size).padStart(8)}  ${o.apiVersion} ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerBundle(program: Command): void {
  const bundle = program.command('bundle').description('create, sign, verify and inspect manifest bundles');

  bundle
    .command('create')
    .description('canonicalise the manifests under DIR into a deterministic bundle tar; prints sha256:<hex>')
    .requiredOption('--from <dir>', 'directory of YAML/JSON manifests (multi-document files too)')
    .requiredOption('--out <file>', 'bundle file to write, e.g. app.bundle.tar')
    .option('--source-cluster <cluster>', 'primary cluster the objects come from', 'primary')
    .option('--namespace <ns>', 'namespace of the source rollout', 'default')
    .option('--name <name>', 'name of the source rollout (default: the directory name)')
    .option('--kind <kind>', 'kind of the source workload', 'Rollout')
    .option('--revision <r>', 'source revision')
    .option('--pod-template-hash <h>', 'source pod-template-hash')
    .option('--commit <sha>', 'source commit, if known')
    .option('--sequence <n>', 'monotonic sequence number for the application (default: creation time in epoch seconds)')
    .option('--target <cluster>', 'target cluster allowed to apply (repeatable; none = any)', collect, [])
    .option('--expires-in <duration>', 'validity, e.g. 24h, 7d (default 30d)')
    .option('--created-at <time>', 'creation time (RFC 3339 or epoch seconds; default now) for reproducible bundles')
    .option('--json', 'print digest and metadata as JSON')
    .action(runCreate);

  bundle
    .command('sign')
    .description('sign a bundle: a DSSE envelope with an in-toto statement (default FILE.sig.json)')
    .requiredOption('--bundle <file>', 'bundle to sign')
    .requiredOption('--key <key>', 'PKCS#8 PEM private key (repeatable for several signers)', collect, [])
    .option('--out <sig>', 'envelope file (default: <bundle>.sig.json)')
    .option('--sigstore-out <file>', 'also write a Sigstore bundle v0.3 (public-key hint); needs exactly one --key')
    .action(runSign);

  bundle
    .command('verify')
    .description('verify a bundle and its signature against keys or a trust policy; exit 0 with a summary, or exit 1 with error <CODE>')
    .requiredOption('--bundle <file>', 'bundle to verify')
    .option('--signature <sig>', 'DSSE envelope (default: <bundle>.sig.json)')
    .option('--key <pub>', 'trusted SPKI PEM public key (repeatable)', collect)
    .option('--threshold <n>', 'with --key: distinct keys that must sign (default 1)')
    .option('--policy <file>', 'TrustPolicy YAML')
    .option('--target <cluster>', 'cluster the bundle is for; checked against the bundle and the keys')
    .option('--state <file>', 'JSON file of last accepted sequences (replay/rollback check; updated on success)')
    .option('--json', 'machine-readable result')
    .action(runVerify);

  bundle
    .command('inspect')
    .description('list metadata, objects and digests of a bundle without trusting it')
    .argument('<file>', 'bundle file')
    .option('--json', 'machine-readable output')
    .action(runInspect);
}
