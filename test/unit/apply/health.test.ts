import assert from 'node:assert/strict';
import { assessHealth } from '../../../src/apply/health.js';

const deploy = (spec: Record<string, unknown>, status: Record<string, unknown>, generation = 2) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { generation }, spec, status });

describe('apply/health', () => {
  describe('Deployment', () => {
    it('is healthy when every replica is updated and available at the observed generation', () => {
      assert.equal(assessHealth(deploy({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 })).status, 'Healthy');
    });
    it('never passes on a stale status (observedGeneration behind)', () => {
      const h = assessHealth(deploy({ replicas: 2 }, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }));
      assert.equal(h.status, 'Progressing');
      assert.match(h.message, /observe the current generation/);
    });
    it('progresses while old replicas remain or updated ones are unavailable', () => {
      assert.equal(assessHealth(deploy({ replicas: 2 }, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 })).status, 'Progressing');
      assert.equal(assessHealth(deploy({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 })).status, 'Progressing');
      assert.equal(assessHealth(deploy({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 2 })).status, 'Progressing');
    });
    it('is Degraded after ProgressDeadlineExceeded and Suspended when paused', () => {
      assert.equal(assessHealth(deploy({ replicas: 1 }, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })).status, 'Degraded');
      assert.equal(assessHealth(deploy({ replicas: 1, paused: true }, { observedGeneration: 2 })).status, 'Suspended');
    });
  });

  it('StatefulSet: ready replicas, revision and partition', () => {
    const sts = (spec: Record<string, unknown>, status: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { generation: 1 }, spec, status: { observedGeneration: 1, ...status } });
    assert.equal(assessHealth(sts({ replicas: 2 }, { readyReplicas: 2, availableReplicas: 2, currentRevision: 'a', updateRevision: 'a' })).status, 'Healthy');
    assert.equal(assessHealth(sts({ replicas: 2 }, { readyReplicas: 2, availableReplicas: 2, currentRevision: 'a', updateRevision: 'b' })).status, 'Progressing');
    assert.equal(assessHealth(sts({ replicas: 2 }, { readyReplicas: 1 })).status, 'Progressing');
    assert.equal(assessHealth(sts({ replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, { readyReplicas: 3, availableReplicas: 3, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' })).status, 'Healthy');
  });

  it('DaemonSet: updated and available on every node', () => {
    const ds = (status: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { generation: 3 }, spec: {}, status });
    assert.equal(assessHealth(ds({ observedGeneration: 3, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 })).status, 'Healthy');
    assert.equal(assessHealth(ds({ observedGeneration: 3, desiredNumberScheduled: 3, updatedNumberScheduled: 2, numberAvailable: 3 })).status, 'Progressing');
    assert.equal(assessHealth(ds({ observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 })).status, 'Progressing');
  });

  it('Argo Rollout: string observedGeneration, stableRS == currentPodHash, phase', () => {
    const ro = (status: Record<string, unknown>, spec: Record<string, unknown> = { replicas: 2 }) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { generation: 4 }, spec, status });
    const ok = { observedGeneration: '4', stableRS: 'abc', currentPodHash: 'abc', updatedReplicas: 2, availableReplicas: 2, phase: 'Healthy' };
    assert.equal(assessHealth(ro(ok)).status, 'Healthy');
    assert.equal(assessHealth(ro({ ...ok, observedGeneration: '3' })).status, 'Progressing');
    // Without a phase (before v1.0) the replica sets decide; with one, Argo CD trusts it (see argocd-health.test.ts).
    const { phase: _phase, ...noPhase } = ok;
    assert.equal(assessHealth({ ...ro({ ...noPhase, currentPodHash: 'def' }), spec: { replicas: 2, strategy: { canary: {} } } }).status, 'Progressing');
    assert.equal(assessHealth({ ...ro(noPhase), spec: { replicas: 2, strategy: { canary: {} } } }).status, 'Healthy');
    assert.equal(assessHealth(ro({ ...ok, phase: 'Degraded', message: 'aborted' })).status, 'Degraded');
    assert.equal(assessHealth(ro(noPhase, { replicas: 2, paused: true })).status, 'Suspended');
  });

  it('Job, PVC, Service LoadBalancer, CRD', () => {
    assert.equal(assessHealth({ apiVersion: 'batch/v1', kind: 'Job', status: { conditions: [{ type: 'Complete', status: 'True' }] } }).status, 'Healthy');
    assert.equal(assessHealth({ apiVersion: 'batch/v1', kind: 'Job', status: { conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] } }).status, 'Degraded');
    assert.equal(assessHealth({ apiVersion: 'batch/v1', kind: 'Job', status: { active: 1 } }).status, 'Progressing');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', status: { phase: 'Bound' } }).status, 'Healthy');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', status: { phase: 'Pending' } }).status, 'Progressing');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', status: { phase: 'Lost' } }).status, 'Degraded');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'Service', spec: { type: 'ClusterIP' } }).status, 'Healthy');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'Service', spec: { type: 'LoadBalancer' }, status: {} }).status, 'Progressing');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'Service', spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }).status, 'Healthy');
    assert.equal(assessHealth({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', status: { conditions: [{ type: 'Established', status: 'True' }] } }).status, 'Healthy');
    assert.equal(assessHealth({ apiVersion: 'v1', kind: 'ConfigMap' }).status, 'Healthy');
  });
});
