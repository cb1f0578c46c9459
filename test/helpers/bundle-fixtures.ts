import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createBundle, type BundleMetaOptions, type CreatedBundle } from '../../src/bundle/index.js';
import { isRelayError, type RelayErrorCode } from '../../src/errors.js';
import { policyFromPublicKeys, type TrustPolicy } from '../../src/policy/index.js';
import { keySigner, loadPrivateKey, serializeEnvelope, signBundleDigest, type Signer } from '../../src/signing/index.js';

export const REPO = new URL('../../', import.meta.url).pathname;
export const TEST_KEYS = join(REPO, 'keys/test');

export function testKeyPem(name: string, ext: 'key' | 'pub' | 'crt'): string {
  return readFileSync(join(TEST_KEYS, `${name}.${ext}`), 'utf8');
}

export function testSigner(name: string): Signer {
  return keySigner(loadPrivateKey(testKeyPem(name, 'key'), name));
}

export function testPolicy(names: string[], threshold = 1): TrustPolicy {
  return policyFromPublicKeys(names.map((n) => ({ pem: testKeyPem(n, 'pub'), origin: n })), threshold);
}

export function tempDir(prefix = 'rr-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function sampleObjects(): unknown[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'shop', uid: 'u-1', resourceVersion: '42', labels: { app: 'web' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
      status: { readyReplicas: 2 },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { 'app.properties': 'color=blue\n', enabled: 'yes' } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.12', ports: [{ port: 80, targetPort: 8080 }] } },
  ];
}

export const FIXED_CREATED_AT = new Date('2026-01-02T03:04:05Z');

export function sampleMeta(overrides: Partial<BundleMetaOptions> = {}): BundleMetaOptions {
  return {
    source: { cluster: 'shanghai', namespace: 'shop', kind: 'Rollout', name: 'web', revision: '7', podTemplateHash: '6d4b9c' },
    sequence: 7,
    createdAt: FIXED_CREATED_AT,
    expiresAt: new Date('2100-01-01T00:00:00Z'),
    targets: ['shenzhen'],
    ...overrides,
  };
}

export function sampleBundle(overrides: Partial<BundleMetaOptions> = {}, objects = sampleObjects()): CreatedBundle {
  return createBundle(objects, sampleMeta(overrides));
}

/** A bundle plus its compact envelope, signed by the named test keys. */
export async function signedSample(signers: string[] = ['test-ed25519'], overrides: Partial<BundleMetaOptions> = {}): Promise<{ bundle: CreatedBundle; envelope: string }> {
  const bundle = sampleBundle(overrides);
  const env = await signBundleDigest('app.bundle.tar', bundle.digest, bundle.index, signers.map(testSigner));
  return { bundle, envelope: serializeEnvelope(env) };
}

/** Runs fn and asserts it throws (or rejects with) a RelayError with exactly this code. */
export async function expectCode(fn: () => unknown, code: RelayErrorCode): Promise<Error> {
  let thrown: unknown;
  try {
    await fn();
  } catch (err) {
    thrown = err;
  }
  if (thrown === undefined) throw new Error(`expected RelayError ${code}, but nothing was thrown`);
  if (!isRelayError(thrown)) throw new Error(`expected RelayError ${code}, got ${String(thrown)}`, { cause: thrown });
  assert.equal(thrown.code, code, `got ${thrown.code}: ${thrown.message}`);
  return thrown;
}
