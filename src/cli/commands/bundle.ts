import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  createBundle,
  prepareObjects,
  formatDigest,
  inspectBundle,
  type BundleInspection,
  parseRfc3339,
  loadManifestDir,
  parseDuration,
  writeFileAtomic,
  DEFAULT_EXPIRY_MS,
  type BundleMetaOptions,
} from '../../bundle/index.js';
import { readBoundedFile, MAX_KEY_FILE_BYTES } from '../../bounded-file.js';
import { writeCiReports } from '../../ci/reports.js';
import { githubEnv } from '../../config/github-env.js';
import { RelayError } from '../../errors.js';
import { loadTargetDifferences } from '../../config/target-differences.js';
import { applyOverrides } from '../../overrides/apply-overrides.js';
import { printable, shown } from '../../printable.js';
import { createGitHubClient, fetchGitHubManifests, isGitHubSource, parseGitHubSource } from '../../github/index.js';
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
  overrides?: string;
  json?: boolean;
}

/** --created-at: epoch seconds or an RFC 3339 time of a real date (no roll-over of 02-31 or 24:00). */
function parseCreatedAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,12}$/.test(value) ? Number(value) * 1000 : parseRfc3339(value);
  if (ms === undefined) throw new RelayError('USAGE', `--created-at ${printable(value)} is neither an RFC 3339 time of a real date (2026-01-02T03:04:05Z) nor epoch seconds`);
  return new Date(ms);
}

/**
 * SOURCE_DATE_EPOCH (reproducible-builds.org): the commit time in epoch seconds, set by build
 * pipelines so outputs are byte-identical. It pins createdAt only when --created-at is absent.
 */
export function sourceDateEpoch(value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,12}$/.test(value)) throw new RelayError('USAGE', `SOURCE_DATE_EPOCH=${printable(value.slice(0, 40))} is not a non-negative integer of seconds since the epoch`);
  return new Date(Number(value) * 1000);
}

/** Objects, commit and default name from a local directory or from `github:OWNER/REPO@REF[:PATH]`. */
async function loadSource(from: string, commit: string | undefined): Promise<{ objects: unknown[]; commit?: string; name: string }> {
  if (!isGitHubSource(from)) {
    return { objects: await loadManifestDir(from), ...(commit !== undefined ? { commit } : {}), name: basename(resolve(from)) };
  }
  const src = parseGitHubSource(from);
  const env = githubEnv();
  const client = createGitHubClient({ ...(env.token ? { token: env.token } : {}), baseUrl: env.baseUrl, warn: (m) => process.stderr.write(`github: ${m}\n`) });
  const got = await fetchGitHubManifests(client, src);
  if (commit !== undefined && commit !== got.commit) {
    throw new RelayError('USAGE', `--commit ${commit} contradicts the commit of ${from}, ${got.commit}; drop --commit (the archive's commit is recorded)`);
  }
  process.stderr.write(`read ${got.files.length} manifest files from ${from} at ${got.commit} (${got.archive.compressedBytes} bytes downloaded)\n`);
  return { objects: got.objects, commit: got.commit, name: src.path.split('/').pop() || src.repo };
}

async function runCreate(opts: CreateOptions): Promise<void> {
  const loaded = await loadSource(opts.from, opts.commit);
  const objects = loaded.objects;
  if (objects.length === 0) throw new RelayError('USAGE', `no manifests (*.yaml, *.yml, *.json) found under ${opts.from}`);
  let sequence: number | undefined;
  if (opts.sequence !== undefined) {
    if (!/^\d{1,15}$/.test(opts.sequence)) throw new RelayError('USAGE', `--sequence ${printable(opts.sequence)} must be a non-negative integer`);
    sequence = Number(opts.sequence);
  }
  const now = new Date();
  // The CLI is the boundary that reads the environment; the bundle module only gets a Date.
  const pinned = parseCreatedAt(opts.createdAt) ?? sourceDateEpoch(process.env.SOURCE_DATE_EPOCH);
  const createdAt = pinned ?? now;
  const expiresAt = new Date(createdAt.getTime() + (opts.expiresIn !== undefined ? parseDuration(opts.expiresIn) : DEFAULT_EXPIRY_MS));
  if (expiresAt.getTime() <= now.getTime()) {
    // A pinned creation time (an old commit's SOURCE_DATE_EPOCH) plus the validity is already past.
    throw new RelayError(
      'EXPIRED',
      `the bundle would be born expired: created ${createdAt.toISOString()} + ${opts.expiresIn ?? '30d'} = ${expiresAt.toISOString()}, before now; pass a longer --expires-in or a later --created-at/SOURCE_DATE_EPOCH`,
    );
  }
  const meta: BundleMetaOptions = {
    source: {
      cluster: opts.sourceCluster,
      namespace: opts.namespace,
      kind: opts.kind,
      name: opts.name ?? loaded.name,
      ...(opts.revision !== undefined ? { revision: opts.revision } : {}),
      ...(opts.podTemplateHash !== undefined ? { podTemplateHash: opts.podTemplateHash } : {}),
      ...(loaded.commit !== undefined ? { commit: loaded.commit } : {}),
    },
    ...(sequence !== undefined ? { sequence } : {}),
    createdAt,
    expiresAt,
    targets: opts.target,
  };
  if (opts.overrides !== undefined) {
    meta.differences = loadTargetDifferences(opts.overrides);
    // A bad override is refused here, naming it, rather than by every target later.
    const prepared = prepareObjects(objects).objects;
    for (const d of meta.differences) if (d.overrides.length) applyOverrides(prepared, d, { code: 'CONFIG_INVALID', applicationNamespace: opts.namespace });
  }
  const created = createBundle(objects, meta);
  await writeFileAtomic(opts.out, [created.bytes]);
  for (const d of created.dropped) process.stderr.write(`dropped ${shown(d)}\n`);
  if (pinned && sequence === undefined) {
    process.stderr.write(
      `note: sequence ${created.index.sequence} is the pinned creation time; a rebuild of the same commit gets the same sequence (verify refuses it as a replay where it was accepted), an older commit a lower one (ROLLBACK); pass --sequence to promote it anyway\n`,
    );
  }
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
  junit?: string;
  dotenv?: string;
}

export function verifySummary(v: VerifiedBundle): string {
  const signers = v.keyIds.map((id, i) => `${id.slice(0, 16)} (${shown(v.keyNames[i])})`).join(', ');
  const seq = v.sequenceCheck === 'passed'
    ? `sequence ${v.index.sequence} checked (previous ${v.previousSequence ?? 'none'})`
    : `sequence ${v.index.sequence} NOT checked (no --state given)`;
  const target = v.targetCheck === 'passed' ? `target ${shown(v.target)} allowed` : 'target NOT checked (no --target given)';
  const scope = v.scopeCheck === 'passed' ? 'every object in scope' : 'scope NOT checked (--key has no policy scope)';
  const overrides = v.differences ? `; target's signed overrides ${v.differences.digest.slice(0, 19)} applied (${v.differences.applied.map((a) => `${shown(a.name)}: ${a.objects.length} object${a.objects.length === 1 ? '' : 's'}`).join(', ') || 'ignoreFields only'})` : '';
  return `verified ${formatDigest(v.digest)} ${shown(v.index.application)} signed by ${signers}, threshold ${v.keyIds.length}/${v.threshold}; ${target}; ${seq}; ${scope}${overrides}; expires ${v.index.expiresAt}`;
}

/** verify, with its outcome also written as CI reports (`--junit`, `--dotenv`) when asked, pass or fail. */
async function runVerifyReported(opts: VerifyCliOptions): Promise<void> {
  if (opts.junit === undefined && opts.dotenv === undefined) {
    await runVerify(opts);
    return;
  }
  const started = Date.now();
  const caseName = `verify ${opts.bundle}${opts.target !== undefined ? ` for ${opts.target}` : ''}`;
  const report = (failure: { type: string; message: string } | undefined, vars: Record<string, string | number>) =>
    writeCiReports(
      { ...(opts.junit !== undefined ? { junit: opts.junit } : {}), ...(opts.dotenv !== undefined ? { dotenv: opts.dotenv } : {}) },
      { name: 'rollout-relay bundle verify', timestamp: started, cases: [{ name: caseName, classname: 'rollout-relay.verify', seconds: (Date.now() - started) / 1000, ...(failure ? { failure } : {}) }] },
      vars,
    );
  let verified: VerifiedBundle;
  try {
    verified = await runVerify(opts);
  } catch (err) {
    const code = err instanceof RelayError ? err.code : 'INTERNAL';
    // A refused bundle pauses the promotion (design §4): nothing downstream may apply it.
    await report({ type: code, message: err instanceof Error ? err.message : String(err) }, { HOT_UPDATE_STATUS: 'paused', VERIFY_ERROR_CODE: code });
    throw err;
  }
  await report(undefined, {
    HOT_UPDATE_STATUS: 'pending',
    BUNDLE_DIGEST: formatDigest(verified.digest),
    BUNDLE_SEQUENCE: verified.index.sequence,
    BUNDLE_APPLICATION: verified.index.application,
    ...(verified.index.source.commit ? { BUNDLE_COMMIT: verified.index.source.commit } : {}),
  });
}

async function runVerify(opts: VerifyCliOptions): Promise<VerifiedBundle> {
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
    const { objects: _objects, statement: _statement, scope: _scope, index, ...rest } = verified;
    process.stdout.write(JSON.stringify({ verified: true, ...rest, digest: formatDigest(verified.digest), index: { ...index, files: index.files.length } }, null, 2) + '\n');
  } else {
    process.stdout.write(verifySummary(verified) + '\n');
  }
  return verified;
}

/** Per-target overrides of a bundle, one line per patch and per ignored-fields rule (escaped: unverified input). */
export function overridesLines(overrides: BundleInspection['overrides']): string[] {
  if (!overrides.length) return [];
  const select = (s: Record<string, string | undefined> | undefined) => (s ? Object.entries(s).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${shown(v!)}`).join(' ') : '') || '(every object)';
  return [
    `overrides   ${overrides.length} target${overrides.length === 1 ? '' : 's'}`,
    ...overrides.flatMap((t) => [
      `  ${shown(t.target)}  ${t.sha256.slice(0, 16)}  ${shown(t.path)}`,
      ...t.overrides.map((o, i) => `    ${shown(o.name ?? `overrides[${i}]`)}: ${o.mergePatch !== undefined ? 'merge patch' : `JSON patch (${o.jsonPatch!.length} op${o.jsonPatch!.length === 1 ? '' : 's'})`} on ${select(o.select)}`),
      ...t.ignoreFields.map((f) => `    ignore ${f.pointers.map(shown).join(', ')} of ${select({ group: f.group, kind: f.kind, namespace: f.namespace, name: f.name })}`),
    ]),
  ];
}

async function runInspect(file: string, opts: { json?: boolean }): Promise<void> {
  const r = await inspectBundle(file);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ trusted: false, digest: formatDigest(r.digest), size: r.size, ...r.index, files: undefined, objects: r.objects, overrides: r.overrides }, null, 2) + '\n');
    return;
  }
  // Everything below comes from an unverified file: every string is escaped before it reaches the terminal.
  const i = r.index;
  const src = i.source;
  const lines = [
    `bundle      ${shown(file)} (UNVERIFIED: inspect checks structure and file digests, not signatures)`,
    `digest      ${formatDigest(r.digest)}  ${r.size} bytes`,
    `format      ${shown(i.formatVersion)} by ${shown(i.producer.name)} ${shown(i.producer.version)}`,
    `application ${shown(i.application)}  sequence ${i.sequence}`,
    `source      ${shown(src.cluster)} ${shown(src.kind)} ${shown(src.namespace)}/${shown(src.name)}${src.revision ? ` revision ${shown(src.revision)}` : ''}${src.podTemplateHash ? ` hash ${shown(src.podTemplateHash)}` : ''}${src.commit ? ` commit ${shown(src.commit)}` : ''}`,
    `created     ${shown(i.createdAt)}  expires ${shown(i.expiresAt)}`,
    `targets     ${i.targets.length ? i.targets.map(shown).join(', ') : '(any)'}`,
    `objects     ${r.objects.length}`,
    ...r.objects.map((o) => `  ${o.sha256.slice(0, 16)} ${String(o.size).padStart(8)}  ${shown(o.apiVersion)} ${shown(o.kind)} ${o.namespace ? `${shown(o.namespace)}/` : ''}${shown(o.name)}`),
    ...overridesLines(r.overrides),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerBundle(program: Command): void {
  const bundle = program.command('bundle').description('create, sign, verify and inspect manifest bundles');

  bundle
    .command('create')
    .description('canonicalise the manifests under DIR into a deterministic bundle tar; prints sha256:<hex>')
    .requiredOption('--from <dir|github:OWNER/REPO@REF[:PATH]>', 'directory of YAML/JSON manifests (multi-document files too), or a GitHub repository at a ref (token from GITHUB_TOKEN, API from GITHUB_API_URL); the commit is recorded')
    .requiredOption('--out <file>', 'bundle file to write, e.g. app.bundle.tar')
    .option('--source-cluster <cluster>', 'primary cluster the objects come from', 'primary')
    .option('--namespace <ns>', 'namespace of the source rollout', 'default')
    .option('--name <name>', 'name of the source rollout (default: the directory name)')
    .option('--kind <kind>', 'kind of the source workload', 'Rollout')
    .option('--revision <r>', 'source revision')
    .option('--pod-template-hash <h>', 'source pod-template-hash')
    .option('--commit <sha>', 'source commit, if known (with github: it must match the archive)')
    .option('--sequence <n>', 'monotonic sequence number for the application (default: creation time in epoch seconds)')
    .option('--target <cluster>', 'target cluster allowed to apply (repeatable; none = any)', collect, [])
    .option('--expires-in <duration>', 'validity, e.g. 24h, 7d (default 30d)')
    .option('--created-at <time>', 'creation time (RFC 3339 or epoch seconds) for reproducible bundles (default: $SOURCE_DATE_EPOCH, else now)')
    .option('--overrides <file>', 'sign in per-target differences: the targets[].overrides/ignoreFields of this RelayConfig (or YAML of that shape)')
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
    .option('--junit <file>', 'also write the outcome as a JUnit XML report (pass or fail)')
    .option('--dotenv <file>', 'also write a dotenv report: HOT_UPDATE_STATUS, BUNDLE_DIGEST, BUNDLE_SEQUENCE, ... (pass or fail)')
    .action(runVerifyReported);

  bundle
    .command('inspect')
    .description('list metadata, objects and digests of a bundle without trusting it')
    .argument('<file>', 'bundle file')
    .option('--json', 'machine-readable output')
    .action(runInspect);
}
