import { mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, PatchStrategy, CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { UntypedObjectApi } from '../cluster/untyped-object-api.js';
import { parseAllDocuments } from 'yaml';
import { createClusterPki, type CertifiedKey, type ClusterPki } from './pki.js';
import { renderKubeconfig } from './kubeconfig.js';
import { startProcess, isRunning, tailLog, type ManagedProcess } from './processes.js';
import { httpsGet, waitFor } from './http.js';
import { freePorts } from './ports.js';
import { RELAY_KWOK_STAGES, type SandboxBinaries } from './binaries.js';
import { argoCdCrds } from './argocd-crds.js';

/** What makes the two sandbox clusters different from each other. */
export interface ClusterSpec {
  /** Context name in the kubeconfig: `primary` or `dr`. */
  context: string;
  /** The cluster name rollout-relay uses (design: shanghai / shenzhen). */
  clusterName: string;
  serviceCidr: string;
  /** First address of the service range: the in-cluster `kubernetes` Service. */
  serviceIp: string;
  podCidr: string;
  nodeCount: number;
  /** Run the real Argo Rollouts controller in this cluster. */
  argoRollouts: boolean;
}

export interface ClusterState {
  spec: ClusterSpec;
  dir: string;
  server: string;
  ports: Record<string, number>;
  processes: ManagedProcess[];
  /** Why Argo Rollouts is not running, when it was asked for and could not start. */
  argoRolloutsNote?: string;
}

const FIELD_MANAGER = 'rollout-relay-sandbox';
const START_TIMEOUT_MS = 60_000;

function writePki(dir: string, pki: ClusterPki): Record<string, string> {
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {
    'ca.crt': pki.ca.certPem,
    'apiserver.crt': pki.apiserver.certPem,
    'apiserver.key': pki.apiserver.keyPem,
    'sa.key': pki.serviceAccountKeyPem,
    'sa.pub': pki.serviceAccountPubPem,
  };
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    paths[name] = join(pkiDir, name);
    writeFileSync(paths[name], content, { mode: 0o600 });
  }
  return paths;
}

function componentKubeconfig(dir: string, name: string, server: string, pki: ClusterPki, client: CertifiedKey): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeFileSync(path, renderKubeconfig([{ context: name, server, caPem: pki.ca.certPem, client }]), { mode: 0o600 });
  return path;
}

function kubeConfigFor(server: string, pki: ClusterPki, client: CertifiedKey): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(renderKubeconfig([{ context: 'sandbox', server, caPem: pki.ca.certPem, client }]));
  return kc;
}

function deadMessage(proc: ManagedProcess): () => string | undefined {
  return () => (isRunning(proc) ? undefined : `${proc.name} exited; last log lines:\n${tailLog(proc.log)}`);
}

export async function serverSideApply(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const client = UntypedObjectApi.forKubeConfig(kc);
  for (const obj of objects) {
    await client.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }
}

function fakeNode(spec: ClusterSpec, index: number): KubernetesObject & Record<string, unknown> {
  const name = `${spec.context}-node-${index}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/worker': '',
        'topology.kubernetes.io/zone': `${spec.clusterName}-${String.fromCharCode(97 + index)}`,
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      nodeInfo: { architecture: 'amd64', kubeletVersion: 'fake', kubeProxyVersion: 'fake', operatingSystem: 'linux' },
      phase: 'Running',
    },
  };
}

async function waitNodesReady(kc: KubeConfig, count: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(`${count} Ready nodes`, async () => {
    const nodes = await core.listNode();
    const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length >= count;
  }, { timeoutMs: START_TIMEOUT_MS });
}

async function waitCrdsEstablished(kc: KubeConfig, names: string[]): Promise<void> {
  const client = UntypedObjectApi.forKubeConfig(kc);
  await waitFor(`CRDs established (${names.join(', ')})`, async () => {
    for (const name of names) {
      const crd = (await client.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } })) as KubernetesObject & {
        status?: { conditions?: { type: string; status: string }[] };
      };
      if (!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return false;
    }
    return true;
  }, { timeoutMs: START_TIMEOUT_MS });
}

function loadYamlDir(dir: string): KubernetesObject[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as KubernetesObject))
    .filter((o) => o?.kind === 'CustomResourceDefinition');
}

/**
 * Starts one real cluster: etcd, kube-apiserver (TLS, client-cert auth, RBAC), controller-manager,
 * scheduler, kwok playing the kubelets of `nodeCount` nodes, and optionally Argo Rollouts.
 */
export async function startCluster(
  spec: ClusterSpec,
  dir: string,
  bin: SandboxBinaries,
  log: (line: string) => void,
): Promise<{ state: ClusterState; admin: { caPem: string; client: CertifiedKey } }> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const [etcdClient, etcdPeer, apiserverPort, kcmPort, schedulerPort, kwokPort, rolloutsMetrics, rolloutsHealthz] = (await freePorts(8)) as [
    number, number, number, number, number, number, number, number,
  ];
  const ports = { etcdClient, etcdPeer, apiserver: apiserverPort, kcm: kcmPort, scheduler: schedulerPort, kwok: kwokPort, rolloutsMetrics, rolloutsHealthz };
  const server = `https://127.0.0.1:${apiserverPort}`;
  const pki = createClusterPki(spec.clusterName, spec.serviceIp);
  const pkiPaths = writePki(dir, pki);
  const state: ClusterState = { spec, dir, server, ports, processes: [] };
  const logFile = (name: string) => join(dir, 'logs', `${name}.log`);
  const start = async (name: string, binary: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ManagedProcess> => {
    const proc = await startProcess(name, binary, args, logFile(name), env);
    state.processes.push(proc);
    return proc;
  };
  const tls = { caPem: pki.ca.certPem, certPem: pki.clients.admin!.certPem, keyPem: pki.clients.admin!.keyPem };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const etcd = await start('etcd', bin.etcd, [
      `--name=${spec.context}`,
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${spec.context}=${peerUrl}`,
      '--initial-cluster-state=new',
      // A throwaway test cluster: skipping fsync makes it several times faster on slow disks.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitFor('etcd healthy', async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok;
    }, { timeoutMs: START_TIMEOUT_MS, isDead: deadMessage(etcd) });

    const apiserver = await start('kube-apiserver', bin.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // Loopback addresses are not valid Endpoints; nothing in the sandbox routes to the apiserver Service.
      '--endpoint-reconciler-type=none',
      `--secure-port=${apiserverPort}`,
      `--tls-cert-file=${pkiPaths['apiserver.crt']}`,
      `--tls-private-key-file=${pkiPaths['apiserver.key']}`,
      `--client-ca-file=${pkiPaths['ca.crt']}`,
      `--service-account-key-file=${pkiPaths['sa.pub']}`,
      `--service-account-signing-key-file=${pkiPaths['sa.key']}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-cluster-ip-range=${spec.serviceCidr}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ]);
    await waitFor('kube-apiserver ready', async () => (await httpsGet(`${server}/readyz`, tls)).status === 200, {
      timeoutMs: START_TIMEOUT_MS,
      isDead: deadMessage(apiserver),
    });
    log(`  ${spec.context}: kube-apiserver ready at ${server}`);

    const kcmKubeconfig = componentKubeconfig(dir, 'kube-controller-manager', server, pki, pki.clients['kube-controller-manager']!);
    await start('kube-controller-manager', bin.kubeControllerManager, [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pkiPaths['sa.key']}`,
      `--root-ca-file=${pkiPaths['ca.crt']}`,
      `--service-cluster-ip-range=${spec.serviceCidr}`,
      '--kube-api-qps=500',
      '--kube-api-burst=1000',
      '--v=1',
    ]);
    const schedulerKubeconfig = componentKubeconfig(dir, 'kube-scheduler', server, pki, pki.clients['kube-scheduler']!);
    await start('kube-scheduler', bin.kubeScheduler, [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      '--leader-elect=false',
      '--kube-api-qps=500',
      '--kube-api-burst=1000',
      '--v=1',
    ]);
    const kwokKubeconfig = componentKubeconfig(dir, 'kwok', server, pki, pki.clients.kwok!);
    await start('kwok', bin.kwok, [
      `--kubeconfig=${kwokKubeconfig}`,
      `--config=${bin.kwokStages}`,
      `--config=${RELAY_KWOK_STAGES}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--cidr=${spec.podCidr}`,
      '--node-ip=127.0.0.1',
      `--node-port=${kwokPort}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      `--tls-cert-file=${pkiPaths['apiserver.crt']}`,
      `--tls-private-key-file=${pkiPaths['apiserver.key']}`,
      '--node-lease-duration-seconds=40',
    ]);

    const kc = kubeConfigFor(server, pki, pki.clients.admin!);
    await serverSideApply(kc, Array.from({ length: spec.nodeCount }, (_, i) => fakeNode(spec, i)));
    // PrometheusRule: the real schema, so manifests/ can be checked with a server-side dry run.
    const crds = [...loadYamlDir(bin.argoRolloutsCrds), ...argoCdCrds(), ...loadYamlDir(bin.prometheusOperatorCrds)];
    await serverSideApply(kc, crds);
    await Promise.all([
      waitNodesReady(kc, spec.nodeCount),
      waitCrdsEstablished(kc, crds.map((c) => c.metadata!.name!)),
    ]);
    log(`  ${spec.context}: ${spec.nodeCount} kwok nodes Ready, Argo CRDs established`);

    if (spec.argoRollouts) {
      // The controller runs as its own user with Argo Rollouts' own ClusterRole, as in a real install.
      const [clusterRole] = parseAllDocuments(readFileSync(bin.argoRolloutsClusterRole, 'utf8')).map((d) => d.toJS() as KubernetesObject);
      await serverSideApply(kc, [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argo-rollouts' } },
        clusterRole!,
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'argo-rollouts' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole!.metadata!.name! },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'argo-rollouts-controller' }],
        } as KubernetesObject,
      ]);
      const rolloutsKubeconfig = componentKubeconfig(dir, 'argo-rollouts', server, pki, pki.clients['argo-rollouts']!);
      const rollouts = await start('argo-rollouts', bin.rolloutsController, [
        `--kubeconfig=${rolloutsKubeconfig}`,
        '--leader-elect=false',
        `--metricsPort=${rolloutsMetrics}`,
        `--healthzPort=${rolloutsHealthz}`,
        '--loglevel=info',
      ], { POD_NAMESPACE: 'argo-rollouts' });
      try {
        await waitFor('argo-rollouts controller healthy', async () => (await fetch(`http://127.0.0.1:${rolloutsHealthz}/healthz`)).ok, {
          timeoutMs: START_TIMEOUT_MS,
          isDead: deadMessage(rollouts),
        });
        log(`  ${spec.context}: Argo Rollouts controller running`);
      } catch (err) {
        state.argoRolloutsNote = err instanceof Error ? err.message : String(err);
        throw err;
      }
    }

    return { state, admin: { caPem: pki.ca.certPem, client: pki.clients.admin! } };
  } catch (err) {
    (err as Error & { clusterState?: ClusterState }).clusterState = state;
    throw err;
  }
}
