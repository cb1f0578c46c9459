import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import { loadTrustPolicy, OutOfScopeError } from '../../policy/index.js';
import { parseDuration } from '../../bundle/index.js';
import type { ApplyBundleResult } from '../../apply/index.js';
import type { ClusterTarget } from '../../cluster/index.js';
import { API_REQUEST_TIMEOUT_FLAG, API_REQUEST_TIMEOUT_HELP, apiRequestTimeoutOption } from '../api-request-timeout.js';

// Loaded on use: the Kubernetes client costs a second at start-up that --help and the pure
// commands (keys, bundle) should not pay.
const clusterModule = () => import('../../cluster/index.js');
const applyModule = () => import('../../apply/index.js');

interface ApplyCliOptions {
  bundle: string;
  signature?: string;
  policy: string;
  context?: string;
  kubeconfig?: string;
  clusterSecret?: string;
  secretContext?: string;
  target?: string;
  timeout: string;
  apiRequestTimeout?: string;
  prune: boolean;
  dryRun?: boolean;
  forceConflicts?: boolean;
  adopt?: boolean;
  json?: boolean;
}

async function resolveTarget(opts: ApplyCliOptions): Promise<ClusterTarget> {
  const bound = apiRequestTimeoutOption(opts.apiRequestTimeout);
  const { argoCdSecretTarget, kubeconfigTarget, loadKubeConfig } = await clusterModule();
  if (opts.clusterSecret) {
    if (!opts.secretContext) throw new RelayError('USAGE', '--cluster-secret needs --secret-context, the context (e.g. the primary) that holds the Argo CD cluster Secret');
    const from = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), context: opts.secretContext, ...bound }); // the target inherits the bound
    const t = await argoCdSecretTarget(from, opts.clusterSecret);
    return opts.target ? { ...t, name: opts.target } : t;
  }
  if (!opts.context) throw new RelayError('USAGE', 'name the target with --context CTX or --cluster-secret NAMESPACE/NAME');
  return kubeconfigTarget({ context: opts.context, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.target ? { name: opts.target } : {}), ...bound });
}

function summary(r: ApplyBundleResult, target: string): string {
  const { report, verified } = r;
  const counts = new Map<string, number>();
  for (const a of report.applied) counts.set(a.action, (counts.get(a.action) ?? 0) + 1);
  const parts = [...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'no objects';
  const seq = r.sequenceCheck === 'reapply' ? `sequence ${verified.index.sequence} (re-apply of the completed bundle)` : `sequence ${verified.index.sequence}`;
  const overrides = verified.differences ? `; overrides ${verified.differences.digest.slice(0, 19)} (${verified.differences.applied.map((a) => a.name).join(', ') || 'ignoreFields only'})` : '';
  return `${report.result} ${report.bundleDigest} on ${target}: ${parts}; pruned ${report.pruned.length}; ${seq}; signed by ${verified.keyNames.join(', ')}${overrides}`;
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('verify a bundle and server-side apply it to a DR cluster (preflight, ordered waves, health, prune, rollback)')
    .requiredOption('--bundle <file>', 'the bundle (*.bundle.tar)')
    .option('--signature <file>', 'DSSE envelope (default: <bundle>.sig.json)')
    .requiredOption('--policy <file>', 'trust policy (YAML)')
    .option('--context <ctx>', 'kubeconfig context of the target cluster')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--cluster-secret <ns/name>', 'target from an Argo CD cluster Secret instead of a context')
    .option('--secret-context <ctx>', 'context to read --cluster-secret from (e.g. the primary)')
    .option('--target <name>', 'cluster name for the policy check (default: the context\'s cluster or the Secret\'s name)')
    .option('--timeout <duration>', 'health deadline after the first write', '100s')
    .option(API_REQUEST_TIMEOUT_FLAG, API_REQUEST_TIMEOUT_HELP)
    .option('--prune', 'delete objects of the previous bundle that this one dropped (default)', true)
    .option('--no-prune', 'keep objects the previous bundle had and this one dropped')
    .option('--dry-run', 'verify and preflight (server dry-run) only; write nothing')
    .option('--force-conflicts', 'take over fields another field manager owns')
    .option('--adopt', 'take over objects that exist but were not created by rollout-relay')
    .option('--json', 'machine-readable report')
    .action(async (opts: ApplyCliOptions) => {
      const timeoutMs = parseDuration(opts.timeout);
      const target = await resolveTarget(opts);
      const policy = loadTrustPolicy(opts.policy);
      const { applyBundleFile, ApplyError } = await applyModule();
      try {
        const result = await applyBundleFile({
          bundlePath: opts.bundle,
          ...(opts.signature ? { signaturePath: opts.signature } : {}),
          policy,
          target,
          timeoutMs,
          prune: opts.prune,
          dryRun: opts.dryRun ?? false,
          force: opts.forceConflicts ?? false,
          adopt: opts.adopt ?? false,
          onProgress: opts.json ? undefined : (event, fields) => process.stderr.write(`${event}${fields ? ' ' + JSON.stringify(fields) : ''}\n`),
        });
        if (opts.json) {
          process.stdout.write(JSON.stringify({ target: target.name, digest: result.report.bundleDigest, sequence: result.verified.index.sequence, sequenceCheck: result.sequenceCheck, keyIds: result.verified.keyIds, ...(result.verified.differences ? { overrides: result.verified.differences } : {}), ...result.report }) + '\n');
        } else {
          process.stdout.write(summary(result, target.name) + '\n');
        }
      } catch (err) {
        if (opts.json && err instanceof ApplyError) {
          process.stdout.write(JSON.stringify({ target: target.name, error: err.code, message: err.message, problems: err.problems }) + '\n');
        } else if (opts.json && err instanceof OutOfScopeError) {
          process.stdout.write(JSON.stringify({ target: target.name, error: err.code, message: err.message, problems: err.violations.map((v) => ({ object: v.object, kind: 'out-of-scope', message: v.reason })) }) + '\n');
        }
        throw err;
      }
    });
}
