import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { writeBundleFile, type BundleMetaOptions, type KubeObject } from '../../../src/bundle/index.js';
import { generateSigningKeyPair, keySigner, publicKeyPem } from '../../../src/signing/index.js';
import { loadTrustPolicy, type TrustPolicy } from '../../../src/policy/index.js';
import { signBundleFile } from '../../../src/verify/index.js';
import { applyBundleFile, type ApplyBundleResult, type ApplyOptions } from '../../../src/apply/index.js';
import { kubeConfig } from '../support/sandbox.js';

/**
 * A real signing key and the trust policy that trusts it, in a temp dir. `scope` is the policy's
 * `scope:` (YAML flow text); without it the default applies (the application's namespace only).
 */
export class Release {
  readonly dir = mkdtempSync(join(tmpdir(), 'rr-apply-'));
  readonly policyPath: string;
  readonly policy: TrustPolicy;
  private readonly signer;
  private n = 0;

  constructor(scope?: string) {
    const { privateKey, publicKey } = generateSigningKeyPair('ecdsa-p256');
    this.signer = keySigner(privateKey);
    writeFileSync(join(this.dir, 'release.pub'), publicKeyPem(publicKey));
    this.policyPath = this.writePolicy('policy.yaml', scope);
    this.policy = loadTrustPolicy(this.policyPath);
  }

  /** Another policy file trusting the same key, with this scope; returns its path. */
  writePolicy(name: string, scope?: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, [
      'apiVersion: rollout-relay.io/v1', 'kind: TrustPolicy', 'threshold: 1', ...(scope ? [`scope: ${scope}`] : []), 'keys:',
      '  - name: release-signer', '    publicKey: release.pub', '    sources: [shanghai]', '    targets: [shenzhen]', '',
    ].join('\n'));
    return path;
  }

  /** Creates and signs a bundle for application `<namespace>/<name>` with the given sequence. */
  async bundle(namespace: string, name: string, sequence: number, objects: unknown[], revision = String(sequence), extra: Partial<BundleMetaOptions> = {}): Promise<{ path: string; digest: string }> {
    const path = join(this.dir, `${name}-${sequence}-${this.n++}.bundle.tar`);
    const created = await writeBundleFile(path, objects, {
      source: { cluster: 'shanghai', namespace, kind: 'Deployment', name, revision }, sequence, targets: ['shenzhen'], ...extra,
    });
    await signBundleFile({ bundlePath: path, signers: [this.signer] });
    return { path, digest: created.digest };
  }

  apply(path: string, opts: ApplyOptions & { policy?: TrustPolicy } = {}): Promise<ApplyBundleResult> {
    return applyBundleFile({ bundlePath: path, policy: this.policy, target: { name: 'shenzhen', kubeConfig: kubeConfig('dr') }, pollIntervalMs: 250, ...opts });
  }
}

export function objectApi(): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kubeConfig('dr'));
}

/** resourceVersion of an object in DR, or undefined when absent. */
export async function rv(obj: KubeObject): Promise<string | undefined> {
  try {
    const live = await objectApi().read({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) } });
    return live.metadata?.resourceVersion;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    if (err instanceof Error && /Unrecognized API version|Failed to fetch resource metadata/.test(err.message)) return undefined;
    throw err;
  }
}

export async function live<T extends KubernetesObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T> {
  return objectApi().read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } }) as Promise<T>;
}

export const configMap = (namespace: string, name: string, data: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });

export function deployment(namespace: string, name: string, opts: { replicas?: number; image?: string; nodeSelector?: Record<string, string>; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image: opts.image ?? 'registry.example/web:1' }], ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}) },
      },
    },
  };
}

export const service = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
});
