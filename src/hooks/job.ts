import { BatchV1Api, CoreV1Api, type KubeConfig, type V1Job, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import { apiMessage, apiStatusCode } from '../cluster/api-errors.js';
import { APPLICATION_ANNOTATION, BUNDLE_DIGEST_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, parseApplication, statusConfigMapName } from '../status/model.js';
import { parseJobTemplate, type JobSpec } from './config.js';
import { sleep, timeLeft, type Hook, type HookOutcome, type HookRun } from './hook.js';
import { renderTemplate, type TemplateValues } from './template.js';

/** Which hook made a Job; with the application annotation it finds a hook's earlier Jobs. */
export const HOOK_LABEL = 'rollout-relay.io/hook';
/** The revision a hook Job checks. */
export const REVISION_ANNOTATION = 'rollout-relay.io/revision';

const POLL_MS = 500;
const LOG_TIMEOUT_MS = 5000;

/** `<hook>-<podTemplateHash or revision>`, a valid Job name of at most 63 characters. */
export function jobName(hook: string, values: Pick<TemplateValues, 'podTemplateHash' | 'revision'>): string {
  const suffix = (values.podTemplateHash || values.revision || 'unknown').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  return `${hook}-${suffix}`.slice(0, 63).replace(/-+$/, '');
}

/**
 * The owner of an application's hook Jobs in DR: its status ConfigMap, rollout-relay's own record
 * of the application there (never in a bundle, never touched by Argo CD). When the application is
 * removed from DR (its status ConfigMap or its namespace deleted), the garbage collector removes its
 * Jobs with it. Undefined while the application has no status there yet (`hooks run` before any
 * promotion): the Job is then created without an owner.
 */
async function statusOwner(core: CoreV1Api, application: string): Promise<V1OwnerReference | undefined> {
  const { namespace, name } = parseApplication(application);
  const cmName = statusConfigMapName(name);
  try {
    const cm = await core.readNamespacedConfigMap({ name: cmName, namespace });
    return cm.metadata?.uid ? { apiVersion: 'v1', kind: 'ConfigMap', name: cmName, uid: cm.metadata.uid } : undefined;
  } catch (err) {
    if (apiStatusCode(err) === 404) return undefined;
    throw err;
  }
}

/**
 * Deletes the application's hook Jobs in DR whose hook is no longer among `configured` (the Job
 * hooks of the config): nothing else would ever replace them. The latest Job of each configured
 * hook stays, for debugging, until that hook runs again. Returns the names deleted.
 */
export async function pruneHookJobs(kc: KubeConfig, application: string, configured: readonly string[]): Promise<string[]> {
  const batch = kc.makeApiClient(BatchV1Api);
  const { namespace } = parseApplication(application);
  const list = await batch.listNamespacedJob({ namespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${HOOK_LABEL}` });
  const stale = list.items.filter((j) => j.metadata?.annotations?.[APPLICATION_ANNOTATION] === application && !configured.includes(j.metadata?.labels?.[HOOK_LABEL] ?? ''));
  for (const j of stale) {
    await batch.deleteNamespacedJob({ name: j.metadata!.name!, namespace, propagationPolicy: 'Background' }).catch((err: unknown) => {
      if (apiStatusCode(err) !== 404) throw err;
    });
  }
  return stale.map((j) => j.metadata!.name!);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

/**
 * Job hook (design §5): a Job from a YAML template, created in DR in the application's namespace,
 * named per revision and labelled like every object rollout-relay applies. Pass on `Complete`; fail
 * on `Failed` or timeout, quoting the pods' termination state and last log lines. Earlier Jobs of the
 * same hook and application are deleted first, since they are not in the bundle's inventory; the
 * Job is owned by the application's status ConfigMap, so it goes when the application does.
 */
export class JobHook implements Hook {
  readonly type = 'job';
  readonly name: string;
  readonly timeoutMs: number;

  constructor(private readonly spec: JobSpec) {
    this.name = spec.name;
    this.timeoutMs = spec.timeoutMs;
  }

  /** The Job to create for one run (exported for tests through `JobHook.prototype`). */
  buildJob(run: Pick<HookRun, 'ctx' | 'values'>): V1Job {
    const job = parseJobTemplate(renderTemplate(this.spec.templateText, run.values), `hook ${this.name} (${this.spec.templatePath})`) as V1Job;
    const meta = job.metadata ?? {};
    job.metadata = {
      ...meta,
      name: jobName(this.name, run.values),
      namespace: run.ctx.namespace,
      labels: { ...(meta.labels ?? {}), [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [HOOK_LABEL]: this.name },
      annotations: { ...(meta.annotations ?? {}), [APPLICATION_ANNOTATION]: run.ctx.application, [REVISION_ANNOTATION]: run.ctx.revision, [BUNDLE_DIGEST_ANNOTATION]: run.ctx.digest },
    };
    delete (job.metadata as { generateName?: string }).generateName;
    return job;
  }

  async check(run: HookRun): Promise<HookOutcome> {
    const batch = run.ctx.kubeConfig.makeApiClient(BatchV1Api);
    const core = run.ctx.kubeConfig.makeApiClient(CoreV1Api);
    const job = this.buildJob(run);
    const name = job.metadata!.name!;
    const namespace = run.ctx.namespace;
    const where = `Job ${namespace}/${name}`;
    try {
      const owner = await statusOwner(core, run.ctx.application);
      if (owner) job.metadata!.ownerReferences = [owner];
      await this.removeEarlierJobs(batch, run, name);
      await batch.createNamespacedJob({ namespace, body: job });
    } catch (err) {
      return { passed: false, observed: 'not created', message: `${where} could not be created: ${apiMessage(err)}` };
    }
    let last: V1Job | undefined;
    while (timeLeft(run) > 0) {
      try {
        last = await batch.readNamespacedJob({ name, namespace });
      } catch (err) {
        if (apiStatusCode(err) === 404) return { passed: false, observed: 'deleted', message: `${where} was deleted while it ran` };
        // transient: read again until the deadline
      }
      const conds = last?.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) {
        return { passed: true, observed: 'Complete', message: `${where} completed (${last?.status?.succeeded ?? 0} succeeded)` };
      }
      const failed = conds.find((c) => c.type === 'Failed' && c.status === 'True');
      if (failed) {
        const pods = await this.podReport(core, namespace, name);
        return { passed: false, observed: 'Failed', message: `${where} failed: ${failed.reason ?? 'Failed'}${failed.message ? ` (${failed.message})` : ''}${pods}` };
      }
      await sleep(Math.min(POLL_MS, timeLeft(run)), run.signal);
    }
    const pods = await this.podReport(core, namespace, name);
    const s = last?.status;
    // A Job judged failed must not keep running in DR after the verdict.
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' }).catch(() => undefined);
    return {
      passed: false, observed: 'timeout',
      message: `${where} did not complete within ${Math.round(run.budgetMs / 1000)}s (active ${s?.active ?? 0}, succeeded ${s?.succeeded ?? 0}, failed ${s?.failed ?? 0}); it was deleted${pods}`,
    };
  }

  /** Deletes this hook's Jobs for this application, including one of the same name from an earlier run. */
  private async removeEarlierJobs(batch: BatchV1Api, run: HookRun, name: string): Promise<void> {
    const namespace = run.ctx.namespace;
    const list = await batch.listNamespacedJob({ namespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${HOOK_LABEL}=${this.name}` });
    const ours = list.items.filter((j) => j.metadata?.annotations?.[APPLICATION_ANNOTATION] === run.ctx.application);
    for (const j of ours) {
      await batch.deleteNamespacedJob({ name: j.metadata!.name!, namespace, propagationPolicy: 'Background' }).catch((err: unknown) => {
        if (apiStatusCode(err) !== 404) throw err;
      });
    }
    if (!ours.some((j) => j.metadata?.name === name)) return;
    while (timeLeft(run) > 0) {
      try {
        await batch.readNamespacedJob({ name, namespace });
      } catch (err) {
        if (apiStatusCode(err) === 404) return;
        throw err;
      }
      await sleep(200, run.signal);
    }
  }

  /** The pods' termination state and last log lines, or why there are none. */
  private async podReport(core: CoreV1Api, namespace: string, job: string): Promise<string> {
    let pods: V1Pod[];
    try {
      pods = (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${job}` })).items;
    } catch (err) {
      return `; pods could not be listed: ${apiMessage(err)}`;
    }
    if (pods.length === 0) return '; no pods were created';
    pods.sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
    const pod = pods[0]!;
    const states = (pod.status?.containerStatuses ?? []).map((c) => {
      const t = c.state?.terminated;
      if (t) return `${c.name} exited ${t.exitCode}${t.reason ? ` ${t.reason}` : ''}${t.message ? `: ${t.message}` : ''}`;
      return `${c.name} ${c.state?.running ? 'running' : 'waiting'}`;
    });
    let logs: string;
    if (this.spec.logLines === 0) logs = '';
    else {
      try {
        const text = await withTimeout(core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace, tailLines: this.spec.logLines }), LOG_TIMEOUT_MS);
        logs = text.trim() ? `; last log lines:\n${text.trimEnd()}` : '; the container wrote no log lines';
      } catch (err) {
        logs = `; no container logs available (${apiMessage(err).split('\n')[0]})`;
      }
    }
    return `; pod ${pod.metadata?.name} ${pod.status?.phase ?? ''}${states.length ? `: ${states.join(', ')}` : ''}${logs}`;
  }
}
