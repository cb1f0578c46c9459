import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * Argo CD's Application, ApplicationSet and AppProject CustomResourceDefinitions, reduced to their names,
 * scopes and status subresource with an open schema. Argo CD itself does not run in the sandbox
 * (its Go module does not build here); the project only creates and reads these objects.
 */
function argoCdCrd(kind: string, plural: string, shortNames: string[]): KubernetesObject & Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.argoproj.io`,
      labels: { 'app.kubernetes.io/name': `${plural}.argoproj.io`, 'app.kubernetes.io/part-of': 'argocd' },
    },
    spec: {
      group: 'argoproj.io',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['metadata', 'spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                operation: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

export function argoCdCrds(): KubernetesObject[] {
  return [
    argoCdCrd('Application', 'applications', ['app', 'apps']),
    argoCdCrd('ApplicationSet', 'applicationsets', ['appset', 'appsets']),
    argoCdCrd('AppProject', 'appprojects', ['appproj', 'appprojs']),
  ];
}
