import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDocument, stringify } from 'yaml';
import { readBoundedFileSync, MAX_POLICY_FILE_BYTES } from '../../bounded-file.js';
import { RelayError } from '../../errors.js';
import { API_REQUEST_TIMEOUT_FLAG, API_REQUEST_TIMEOUT_HELP, apiRequestTimeoutOption } from '../api-request-timeout.js';
import { describeScope, loadTrustPolicy, parseTrustPolicy, scopeFromAppProject, type ScopeRules } from '../../policy/index.js';

interface ScopeCliOptions {
  fromAppproject?: string;
  context?: string;
  kubeconfig?: string;
  apiRequestTimeout?: string;
  destinationCluster?: string;
  policy?: string;
  key?: string;
  target?: string;
  application?: string;
  json?: boolean;
}

const REF = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** Reads the AppProject from the cluster Argo CD runs in (loaded on use: the client is slow to load). */
async function readAppProject(ref: string, opts: ScopeCliOptions): Promise<unknown> {
  const m = REF.exec(ref);
  if (!m) throw new RelayError('USAGE', `--from-appproject "${ref}" must be NAMESPACE/NAME (e.g. argocd/shop)`);
  const [{ loadKubeConfig, apiStatusCode, wrapTransport }, { UntypedObjectApi }] = await Promise.all([import('../../cluster/index.js'), import('../../cluster/untyped-object-api.js')]);
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), ...apiRequestTimeoutOption(opts.apiRequestTimeout) });
  try {
    return await UntypedObjectApi.forKubeConfig(kc).read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'AppProject', metadata: { namespace: m[1]!, name: m[3]! } });
  } catch (err) {
    if (apiStatusCode(err) === 404 || (err instanceof Error && /^(Failed to fetch resource metadata|Unrecognized API version and kind)/.test(err.message))) {
      throw new RelayError('CONFIG_INVALID', `AppProject ${ref} not found in context ${kc.getCurrentContext()} (or the cluster has no AppProject CRD); check the name with: kubectl get appprojects -A`, { cause: err });
    }
    throw wrapTransport(err, `reading AppProject ${ref}`);
  }
}

/** The policy's text (read from `policyPath`) with `scope` replaced (policy-wide, or on one key), comments kept; validated. */
function withScope(text: string, policyPath: string, scope: ScopeRules, keyName: string | undefined): string {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new RelayError('POLICY_INVALID', `${policyPath}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]})`);
  if (keyName === undefined) {
    doc.setIn(['scope'], doc.createNode(scope));
  } else {
    const keys = (doc.toJS() as { keys?: { name?: string }[] }).keys ?? [];
    const i = keys.findIndex((k) => k.name === keyName);
    if (i < 0) throw new RelayError('USAGE', `--key ${keyName} is not a key of ${policyPath}; it has: ${keys.map((k) => k.name).join(', ')}`);
    doc.setIn(['keys', i, 'scope'], doc.createNode(scope));
  }
  const out = doc.toString({ lineWidth: 0 });
  parseTrustPolicy(out, { baseDir: dirname(resolve(policyPath)), where: `${policyPath} with the new scope` });
  return out;
}

async function runScope(opts: ScopeCliOptions): Promise<void> {
  if (opts.fromAppproject === undefined) {
    if (opts.policy === undefined) throw new RelayError('USAGE', 'give --from-appproject NAMESPACE/NAME --context CTX (a scope from Argo CD), or --policy FILE (each key\'s effective scope)');
    if (opts.key !== undefined || opts.destinationCluster !== undefined) throw new RelayError('USAGE', '--key and --destination-cluster go with --from-appproject');
    const described = describeScope(loadTrustPolicy(opts.policy), { ...(opts.target ? { target: opts.target } : {}), ...(opts.application ? { application: opts.application } : {}) });
    process.stdout.write(opts.json ? JSON.stringify(described, null, 2) + '\n' : [
      `scope ${described.enforced ? 'enforced' : 'NOT checked'}; an object must be allowed by ${described.threshold} of the signing keys; reserved: ${described.reserved.join(', ')}`,
      ...described.keys.map((k) => `  ${k.key} (${k.keyId.slice(0, 16)}): ${k.summary}`),
    ].join('\n') + '\n');
    return;
  }
  if (opts.key !== undefined && opts.policy === undefined) throw new RelayError('USAGE', '--key needs --policy FILE (the policy whose key gets the scope)');
  if (opts.target !== undefined || opts.application !== undefined) throw new RelayError('USAGE', '--target and --application go with --policy alone (describing a policy)');
  // Read before the cluster is asked, so a wrong --policy path is refused at once.
  const policyText = opts.policy === undefined ? undefined : readBoundedFileSync(opts.policy, { what: 'trust policy', maxBytes: MAX_POLICY_FILE_BYTES, code: 'POLICY_INVALID' }).toString('utf8');
  const project = await readAppProject(opts.fromAppproject, opts);
  const { scope, warnings } = scopeFromAppProject(project, opts.destinationCluster !== undefined ? { cluster: opts.destinationCluster } : {});
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ scope, warnings }, null, 2) + '\n');
    return;
  }
  process.stdout.write(opts.policy !== undefined && policyText !== undefined
    ? withScope(policyText, opts.policy, scope, opts.key)
    : `# from AppProject ${opts.fromAppproject}; put it in the trust policy (policy-wide, or under a key to narrow it)\n${stringify({ scope }, { lineWidth: 0 })}`);
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('trust policy tools');
  policy
    .command('scope')
    .description('print a trust-policy scope made from an Argo CD AppProject, or each key\'s effective scope of a policy')
    .option('--from-appproject <ns/name>', 'the Argo CD AppProject to turn into a scope (destinations, cluster/namespace resource white- and blacklists)')
    .option('--context <ctx>', 'kubeconfig context of the cluster Argo CD runs in (with --from-appproject)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option(API_REQUEST_TIMEOUT_FLAG, `${API_REQUEST_TIMEOUT_HELP} (with --from-appproject)`)
    .option('--destination-cluster <name>', 'keep only AppProject destinations whose name or server matches this cluster')
    .option('--policy <file>', 'with --from-appproject: print this policy with its scope replaced; alone: describe each key\'s effective scope')
    .option('--key <name>', 'with --from-appproject and --policy: set the scope on this key (narrowing) instead of policy-wide')
    .option('--target <cluster>', 'describing: the target cluster the keys must be allowed for')
    .option('--application <ns/name>', 'describing: the application whose namespace the default scope means')
    .option('--json', 'machine-readable output')
    .action(runScope);
}
