import type { KubeConfig } from '@kubernetes/client-node';
import { Applier, type ObjectPreview } from '../apply/applier.js';
import { prepareObjects } from '../bundle/create.js';
import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { ApplicationExporter } from '../export/exporter.js';
import { applyOverrides, type AppliedOverride } from '../overrides/apply-overrides.js';
import { Promoter } from './pipeline.js';
import { configTargetClients } from './targets.js';
import type { WorkloadRef } from './types.js';

export interface PromotionPreview {
  application: string;
  target: string;
  previews: ObjectPreview[];
  pruned: string[];
  overrides: AppliedOverride[];
}

/**
 * What promoting a workload now would change in one target, without writing anything: the
 * application is exported from primary as a promotion would, the target's overrides are applied,
 * and the DR server dry-runs every object (ignoreFields, HPA-owned replicas and Argo Rollouts'
 * selectors left out, ownership checked), as the real apply would. Nothing is signed and nothing is recorded.
 */
export async function previewPromotion(config: RelayConfig, primary: KubeConfig, workload: { namespace: string; name: string; kind?: WorkloadRef['kind'] }, targetName: string): Promise<PromotionPreview> {
  const target = config.targets.find((t) => t.name === targetName);
  if (!target) throw new RelayError('USAGE', `unknown target ${targetName}; the config has ${config.targets.map((t) => t.name).join(', ')}`);
  const promoter = new Promoter(config, { primary });
  const ws = await promoter.readWorkload(await promoter.findWorkload(workload.namespace, workload.name, workload.kind));
  const exporter = new ApplicationExporter(primary, { includeSecrets: config.export.includeSecrets, argocdNamespace: config.argocd.namespace });
  const exported = await exporter.export(ws.live);
  const { objects } = prepareObjects(exported.objects);
  const patched = target.overrides.length
    ? applyOverrides(objects, { target: target.name, overrides: target.overrides, ignoreFields: target.ignoreFields }, { code: 'CONFIG_INVALID', applicationNamespace: ws.application.split('/')[0]! })
    : { objects, applied: [] };
  const client = await configTargetClients(primary)(target);
  const applier = new Applier(client.kubeConfig, ws.application, { dryRun: true, previews: true, keepExistingNamespaces: true, targetName: target.name });
  const report = await applier.apply({
    application: ws.application, objects: patched.objects,
    // No bundle exists: a digest no target records, and a sequence above any, so nothing counts as a replay.
    digest: '0'.repeat(64), sequence: Number.MAX_SAFE_INTEGER, revision: ws.revision, sourceCluster: config.source.cluster,
    differences: { digest: '', ignoreFields: target.ignoreFields, applied: patched.applied },
  });
  return { application: ws.application, target: target.name, previews: report.previews ?? [], pruned: report.pruned, overrides: patched.applied };
}
