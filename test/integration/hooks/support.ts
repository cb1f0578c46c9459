import { KubeConfig } from '@kubernetes/client-node';
import { createHookRunner, type HookContext, type HookList } from '../../../src/hooks/index.js';

/** The promotion's view of what must be proven: revision 7, pod-template-hash NEW, previously OLD. */
export const OLD = '5c9d7f6b8';
export const NEW = '6d4f8b7c9';

export function hookContext(extra: Partial<HookContext> = {}): HookContext {
  return {
    application: 'shop/checkout', namespace: 'shop', app: 'checkout', target: 'shenzhen', revision: '7', podTemplateHash: NEW,
    digest: `sha256:${'ab'.repeat(32)}`, kubeConfig: new KubeConfig(), deadline: Date.now() + 100_000, ...extra,
  };
}

/** Hooks from config exactly as a user writes them (validated by createHookRunner). */
export function hooks(raw: unknown[], baseDir = process.cwd()): HookList {
  return createHookRunner(raw, { baseDir });
}

/** nginx routing by x-traffic-color: each colour to its version, no colour to the stable (new) one, unknown colours 404. */
export function colourRouting(oldPort: number, newPort: number, routes: { colour: string; to: 'old' | 'new' }[]): string {
  return [
    `upstream old { server 127.0.0.1:${oldPort}; }`,
    `upstream new { server 127.0.0.1:${newPort}; }`,
    'map $http_x_traffic_color $colour_backend {',
    '  "" new;   # no colour: the stable version, which is the new one once the rollout completed',
    ...routes.map((r) => `  "${r.colour}" ${r.to};`),
    '  default unknown;',
    '}',
    'server {',
    '  listen 127.0.0.1:PORT;',
    '  location / {',
    '    if ($colour_backend = unknown) { return 404 "no route for this colour\\n"; }',
    '    proxy_pass http://$colour_backend;',
    '  }',
    '}',
  ].join('\n');
}

/** What is left when the header route is gone (argo-rollouts#4486): everything goes to the stable (new) version. */
export function noColourRouting(newPort: number): string {
  return [`upstream new { server 127.0.0.1:${newPort}; }`, 'server {', '  listen 127.0.0.1:PORT;', '  location / { proxy_pass http://new; }', '}'].join('\n');
}
