import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelayError } from '../errors.js';

/** Paths of the real upstream programs the sandbox runs, built from their Go modules. */
export interface SandboxBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  /** kwok's own node and pod lifecycle stages, from the same module version. */
  kwokStages: string;
  rolloutsController: string;
  /** Argo Rollouts' CustomResourceDefinitions, from the same module version. */
  argoRolloutsCrds: string;
  /** Argo Rollouts' own ClusterRole for its controller. */
  argoRolloutsClusterRole: string;
  /** Argo CD's real CustomResourceDefinitions (Application, ApplicationSet, AppProject), from its module. */
  argoCdCrds: string;
  /** prometheus-operator's PrometheusRule CustomResourceDefinition, from its module. */
  prometheusOperatorCrds: string;
}

const SCRIPT = fileURLToPath(new URL('../../sandbox/build-binaries.sh', import.meta.url));

/**
 * rollout-relay's own kwok stages (a pod marked rollout-relay.io/kwok-fail fails), kept in the repo
 * and loaded next to kwok's, so they change without rebuilding or re-keying the binary cache.
 */
export const RELAY_KWOK_STAGES = fileURLToPath(new URL('../../sandbox/kwok/stages.yaml', import.meta.url));

/**
 * Builds (first time, minutes) or finds in the cache (seconds) every sandbox binary. Build
 * progress goes to `progress` line by line; the script prints `ready <component> <dir>`.
 */
export async function ensureBinaries(progress: (line: string) => void): Promise<SandboxBinaries> {
  const dirs = await runBuildScript([], progress);
  const need = needFrom(dirs);
  return {
    etcd: need('etcd', 'etcd'),
    kubeApiserver: need('kubernetes', 'kube-apiserver'),
    kubeControllerManager: need('kubernetes', 'kube-controller-manager'),
    kubeScheduler: need('kubernetes', 'kube-scheduler'),
    kubectl: need('kubernetes', 'kubectl'),
    kwok: need('kwok', 'kwok'),
    kwokStages: need('kwok', 'stages.yaml'),
    rolloutsController: need('argo-rollouts', 'rollouts-controller'),
    argoRolloutsCrds: need('argo-rollouts', 'crds'),
    argoRolloutsClusterRole: need('argo-rollouts', 'clusterrole.yaml'),
    argoCdCrds: need('crds', 'argocd'),
    prometheusOperatorCrds: need('crds', 'prometheus-operator'),
  };
}

/**
 * Argo CD's ApplicationSet controller (v2.14), built from its Go module on first use (about 10
 * minutes on 2 cores) and cached like the rest. Only tests of the plugin generator need it, so
 * `sandbox up` does not build it.
 */
export async function ensureAppsetController(progress: (line: string) => void): Promise<string> {
  return needFrom(await runBuildScript(['argocd-appset'], progress))('argocd-appset', 'argocd-appset');
}

function needFrom(dirs: Record<string, string>): (component: string, file: string) => string {
  return (component, file) => {
    const dir = dirs[component];
    const path = dir ? join(dir, file) : '';
    if (!dir || !existsSync(path)) throw new RelayError('SANDBOX_FAILED', `the build reported no ${file} for ${component}; delete ~/.cache/rollout-relay/sandbox-bin and retry`);
    return path;
  };
}

async function runBuildScript(components: string[], progress: (line: string) => void): Promise<Record<string, string>> {
  const dirs: Record<string, string> = {};
  const stderrTail: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...components], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const m = /^ready (\S+) (.+)$/.exec(line);
        if (m) dirs[m[1]!] = m[2]!;
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
        if (/^(building|built) /.test(line)) progress(`  ${line}`);
      }
    });
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    throw new RelayError('SANDBOX_FAILED', `building the sandbox binaries failed (exit ${code}); run bash sandbox/build-binaries.sh to see the whole output. Last lines:\n${stderrTail.join('\n')}`);
  }
  return dirs;
}
