import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { loadRelayConfig } from '../../../src/config/load.js';

const ROOT = new URL('../../../manifests/', import.meta.url).pathname;

interface Container { args: string[]; volumeMounts: { name: string; mountPath: string }[]; securityContext: Record<string, unknown>; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } }
interface Deployment { spec: { replicas: number; template: { spec: { serviceAccountName: string; securityContext: Record<string, unknown>; containers: Container[] } } } }

/** The shipped configuration is valid for this version and agrees with the Deployment that mounts it. */
describe('manifests: the controller configuration and its Deployment', () => {
  const config = loadRelayConfig(`${ROOT}overlays/primary/relay.yaml`);
  const deployment = parse(readFileSync(`${ROOT}overlays/primary/deployment.yaml`, 'utf8')) as Deployment;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;

  it('relay.yaml loads (trust policy, plugin and server settings) and uses leader election in its own namespace', () => {
    assert.equal(config.leaderElection?.namespace, 'rollout-relay');
    assert.equal(config.leaderElection?.leaseName, 'rollout-relay');
    assert.ok(config.plugin?.tokenFile);
    assert.notEqual(config.plugin?.tokenFile, config.server?.tokenFile);
    assert.notEqual(config.server?.statusTokenFile, config.server?.tokenFile);
  });

  it('the Deployment runs 2 replicas, non-root, read-only, with probes, and mounts what the config names', () => {
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(pod.serviceAccountName, 'rollout-relay');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    const mounts = container.volumeMounts.map((m) => m.mountPath);
    assert.ok(container.args.includes('/etc/rollout-relay/relay.yaml'));
    for (const file of [config.server!.tokenFile!, config.server!.statusTokenFile!, config.plugin!.tokenFile!]) {
      assert.ok(mounts.some((m) => file.startsWith(m + '/')), `${file} is mounted`);
    }
    assert.equal(config.server?.listen.split(':')[1], '8080');
  });

  it('the leader-election Role lets it take exactly its Lease', () => {
    const docs = parseAllDocuments(readFileSync(`${ROOT}overlays/primary/rbac.yaml`, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] });
    const role = docs.find((d) => d.kind === 'Role')!;
    const lease = role.rules!.filter((r) => r.resources.includes('leases'));
    assert.deepEqual(lease.find((r) => r.resourceNames)?.resourceNames, [config.leaderElection!.leaseName]);
  });
});
