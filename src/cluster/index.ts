/** Cluster access (design §4): kubeconfig contexts and Argo CD cluster Secrets. */
export * from './argocd-secret.js';
export * from './kubeconfig.js';
export * from './api-errors.js';
