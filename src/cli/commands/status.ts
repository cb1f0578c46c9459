import type { Command } from 'commander';
import { RelayError } from '../../errors.js';
import { shown } from '../../printable.js';
import { API_REQUEST_TIMEOUT_FLAG, API_REQUEST_TIMEOUT_HELP, apiRequestTimeoutOption } from '../api-request-timeout.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, STATUS_CONFIGMAP_PREFIX, statusFromData, type StatusRecord } from '../../status/model.js';

interface StatusCliOptions {
  context?: string;
  kubeconfig?: string;
  namespace?: string;
  apiRequestTimeout?: string;
  json?: boolean;
}

export interface Row {
  namespace: string;
  name: string;
  record: StatusRecord;
}

/** The status table; every cell escaped for the terminal. Exported for tests. */
export function statusTable(rows: Row[]): string {
  const head = ['NAMESPACE', 'NAME', 'STATUS', 'REVISION', 'SEQUENCE', 'DIGEST', 'FINISHED', 'MESSAGE'];
  // ConfigMap values are anyone's with write access to the namespace: escape them for the terminal.
  const body = rows.map((r) =>
    [r.namespace, r.name, r.record.state, r.record.revision || '-', String(r.record.sequence), r.record.bundleDigest.slice(0, 19) || '-', r.record.finishedAt || '-', r.record.message.split('\n')[0]!.slice(0, 80)].map(shown),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** What each application applied differently from primary: its signed overrides and the fields left out. */
export function overridesSummary(rows: Row[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    const o = r.record.overrides;
    if (!o) continue;
    lines.push(`${shown(r.namespace)}/${shown(r.name)}: overrides ${o.digest ? shown(o.digest.slice(0, 19)) : '(none signed)'}`);
    for (const a of o.applied) lines.push(`  ${shown(a.name)} (${shown(a.type)}): ${a.objects.map(shown).join(', ')}`);
    for (const f of o.leftOut) lines.push(`  left out ${shown(f.pointer)} of ${shown(f.object)} (${shown(f.reason)})`);
  }
  return lines.join('\n');
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the status ConfigMaps (design §6) of a DR cluster')
    .argument('[name]', 'application name (default: every application)')
    .option('--context <ctx>', 'kubeconfig context of the DR cluster')
    .option('--kubeconfig <file>', 'kubeconfig file')
    .option('-n, --namespace <ns>', 'only this namespace')
    .option(API_REQUEST_TIMEOUT_FLAG, API_REQUEST_TIMEOUT_HELP)
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, opts: StatusCliOptions) => {
      const bound = apiRequestTimeoutOption(opts.apiRequestTimeout);
      // Loaded on use: the Kubernetes client is slow to load and --help does not need it.
      const [{ CoreV1Api }, { loadKubeConfig, wrapTransport }] = await Promise.all([import('@kubernetes/client-node'), import('../../cluster/index.js')]);
      const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), ...bound });
      const api = kc.makeApiClient(CoreV1Api);
      const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
      let items;
      try {
        items = opts.namespace
          ? (await api.listNamespacedConfigMap({ namespace: opts.namespace, labelSelector })).items
          : (await api.listConfigMapForAllNamespaces({ labelSelector })).items;
      } catch (err) {
        throw wrapTransport(err, 'listing status ConfigMaps');
      }
      const rows: Row[] = items
        .filter((cm) => cm.metadata?.name?.startsWith(STATUS_CONFIGMAP_PREFIX))
        .map((cm) => ({ namespace: cm.metadata!.namespace ?? '', name: cm.metadata!.name!.slice(STATUS_CONFIGMAP_PREFIX.length), record: statusFromData(cm.data) }))
        .filter((r) => name === undefined || r.name === name)
        .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
      if (name !== undefined && rows.length === 0) {
        throw new RelayError('USAGE', `no status ConfigMap ${STATUS_CONFIGMAP_PREFIX}${shown(name)} in ${opts.namespace ?? 'any namespace'} of context ${kc.getCurrentContext()}; nothing was promoted there yet`);
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows.map((r) => ({ namespace: r.namespace, name: r.name, ...r.record }))) + '\n');
      } else {
        const overrides = overridesSummary(rows);
        process.stdout.write(rows.length ? statusTable(rows) + '\n' + (overrides ? `\n${overrides}\n` : '') : 'no rollout-relay status in this cluster\n');
      }
    });
}
