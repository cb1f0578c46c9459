import { stringify } from 'yaml';
import type { CertifiedKey } from './pki.js';

export interface KubeconfigEntry {
  /** Context and user name. */
  context: string;
  /** Cluster entry name (rollout-relay's name for the cluster). Default: the context name. */
  cluster?: string;
  server: string;
  caPem: string;
  client: CertifiedKey;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A self-contained kubeconfig (certificates embedded), one context per entry. */
export function renderKubeconfig(entries: KubeconfigEntry[], currentContext?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    'current-context': currentContext ?? entries[0]?.context ?? '',
    clusters: entries.map((e) => ({
      name: e.cluster ?? e.context,
      cluster: { server: e.server, 'certificate-authority-data': b64(e.caPem) },
    })),
    users: entries.map((e) => ({
      name: e.context,
      user: { 'client-certificate-data': b64(e.client.certPem), 'client-key-data': b64(e.client.keyPem) },
    })),
    contexts: entries.map((e) => ({ name: e.context, context: { cluster: e.cluster ?? e.context, user: e.context } })),
  });
}
