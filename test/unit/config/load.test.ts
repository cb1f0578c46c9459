import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadRelayConfig } from '../../../src/config/load.js';
import { isLabelSelector } from '../../../src/config/selector.js';
import { isRelayError, type RelayError } from '../../../src/errors.js';

const KEYS = resolve('keys/test');

function workdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rr-config-'));
  copyFileSync(join(KEYS, 'test-ecdsa.key'), join(dir, 'release.key'));
  copyFileSync(join(KEYS, 'test-ecdsa.pub'), join(dir, 'release.pub'));
  writeFileSync(join(dir, 'trust-policy.yaml'), stringify({
    apiVersion: 'rollout-relay.io/v1', kind: 'TrustPolicy', threshold: 1, keys: [{ name: 'r1', publicKey: 'release.pub' }],
  }));
  return dir;
}

const minimal = () => ({
  apiVersion: 'rollout-relay.io/v1',
  kind: 'RelayConfig',
  source: { cluster: 'shanghai', context: 'primary' },
  signing: { keys: ['release.key'] },
  trustPolicy: 'trust-policy.yaml',
  targets: [{ name: 'shenzhen', context: 'dr' }],
});

function load(doc: unknown, dir = workdir()): ReturnType<typeof loadRelayConfig> {
  const file = join(dir, 'relay.yaml');
  writeFileSync(file, typeof doc === 'string' ? doc : stringify(doc));
  return loadRelayConfig(file);
}

function refused(doc: unknown, ...fragments: string[]): RelayError {
  let caught: unknown;
  try {
    load(doc);
  } catch (err) {
    caught = err;
  }
  assert.ok(isRelayError(caught, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(caught)}`);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message lacks "${f}":\n${caught.message}`);
  return caught;
}

describe('config/load', () => {
  it('fills every default of design §9 and resolves paths against the file', () => {
    const dir = workdir();
    const c = load(minimal(), dir);
    assert.equal(c.file, join(dir, 'relay.yaml'));
    assert.equal(c.baseDir, dir);
    assert.deepEqual(c.source, { cluster: 'shanghai', context: 'primary' });
    assert.deepEqual(c.watch, { selector: 'rollout-relay.io/promote=true', eventReasons: ['RolloutCompleted', 'RolloutSucceeded'] });
    assert.deepEqual(c.export, { includeSecrets: false });
    assert.deepEqual(c.signing.keys, [{ file: join(dir, 'release.key') }]);
    assert.equal(c.trustPolicy, join(dir, 'trust-policy.yaml'));
    assert.deepEqual(c.targets, [{ name: 'shenzhen', context: 'dr', rollouts: 'full', mode: 'apply', overrides: [], ignoreFields: [] }]);
    assert.equal(c.hooks.count, 0);
    assert.equal(c.onHookFailure, 'rollback');
    assert.equal(c.timeouts.promotionMs, 100_000);
    assert.equal(c.timeouts.apiRequestMs, 60_000);
    assert.equal(c.server, undefined);
    assert.equal(c.leaderElection, undefined);
    assert.deepEqual(c.argocd, { namespace: 'argocd' });
    assert.equal(c.plugin, undefined);
    assert.equal(c.github, undefined);
  });

  it('reads every optional section with its own defaults and converts durations to ms', () => {
    const c = load({
      ...minimal(),
      source: { cluster: 'shanghai', kubeconfig: 'kube/config' },
      watch: { namespaces: ['shop', 'shop'], selector: 'app in (a,b),tier!=db', eventReasons: ['RolloutCompleted'] },
      export: { includeSecrets: true },
      signing: { keys: ['release.key', { secret: 'rollout-relay/signing', key: 'tls.key' }] },
      targets: [
        { name: 'shenzhen', context: 'dr', kubeconfig: 'dr.kubeconfig', rollouts: 'steps' },
        { name: 'beijing', clusterSecret: 'argocd/cluster-beijing', mode: 'gate' },
      ],
      onHookFailure: 'keep',
      timeouts: { promotion: '1m30s' },
      server: { tokenFile: 'notify.token', statusTokenFile: 'status.token' },
      leaderElection: {},
      argocd: { namespace: 'gitops' },
      plugin: { listen: '0.0.0.0:8081', tokenFile: 'plugin.token' },
      github: { repo: 'acme/shop' },
    });
    assert.equal(c.source.kubeconfig, join(c.baseDir, 'kube/config'));
    assert.deepEqual(c.watch.namespaces, ['shop']);
    assert.equal(c.export.includeSecrets, true);
    assert.deepEqual(c.signing.keys[1], { secret: { namespace: 'rollout-relay', name: 'signing' }, key: 'tls.key' });
    assert.equal(c.targets[0]!.kubeconfig, join(c.baseDir, 'dr.kubeconfig'));
    assert.equal(c.targets[0]!.rollouts, 'steps');
    assert.deepEqual(c.targets[1]!.clusterSecret, { namespace: 'argocd', name: 'cluster-beijing' });
    assert.equal(c.targets[1]!.mode, 'gate');
    assert.equal(c.onHookFailure, 'keep');
    assert.equal(c.timeouts.promotionMs, 90_000);
    assert.deepEqual(c.server, { listen: '127.0.0.1:8080', tokenFile: join(c.baseDir, 'notify.token'), statusTokenFile: join(c.baseDir, 'status.token') });
    assert.deepEqual(c.leaderElection, { namespace: 'rollout-relay', leaseName: 'rollout-relay', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    assert.deepEqual(c.argocd, { namespace: 'gitops' });
    assert.deepEqual(c.plugin, {
      listen: '0.0.0.0:8081', tokenFile: join(c.baseDir, 'plugin.token'), cacheTtlMs: 600_000, maxDropShare: 0.2, confirmReads: 3,
      stateConfigMap: { namespace: 'rollout-relay', name: 'rollout-relay-plugin-state' }, // beside the Lease
    });
    assert.deepEqual(c.github, { repo: 'acme/shop', tokenEnv: 'GITHUB_TOKEN', deployments: false });
  });

  it('timeouts.apiRequest: a duration from 1 s up to the promotion timeout; default 60 s, or the promotion timeout when shorter', () => {
    assert.equal(load({ ...minimal(), timeouts: { apiRequest: '5s' } }).timeouts.apiRequestMs, 5_000);
    assert.equal(load({ ...minimal(), timeouts: { apiRequest: '1s' } }).timeouts.apiRequestMs, 1_000);
    assert.equal(load({ ...minimal(), timeouts: { apiRequest: '100s' } }).timeouts.apiRequestMs, 100_000, 'equal to the promotion timeout');
    assert.equal(load({ ...minimal(), timeouts: { promotion: '30s' } }).timeouts.apiRequestMs, 30_000);
    assert.equal(load({ ...minimal(), timeouts: { promotion: '5m', apiRequest: '2m' } }).timeouts.apiRequestMs, 120_000);
  });

  it('timeouts.apiRequest: refuses zero, non-durations, below 1 s and longer than the promotion timeout with CONFIG_INVALID', () => {
    refused({ ...minimal(), timeouts: { apiRequest: '0s' } }, 'timeouts.apiRequest: must be a duration');
    refused({ ...minimal(), timeouts: { apiRequest: 'fast' } }, 'timeouts.apiRequest: must be a duration');
    refused({ ...minimal(), timeouts: { apiRequest: 60 } }, 'timeouts.apiRequest');
    refused({ ...minimal(), timeouts: { apiRequest: '500ms' } }, 'timeouts.apiRequest: 500ms is below the 1 s minimum');
    refused({ ...minimal(), timeouts: { apiRequest: '2m' } }, 'timeouts.apiRequest: 2m is longer than timeouts.promotion (100s); give at most the promotion timeout');
    refused({ ...minimal(), timeouts: { promotion: '20s', apiRequest: '30s' } }, 'timeouts.apiRequest: 30s is longer than timeouts.promotion (20s)');
  });

  it('is frozen all the way down', () => {
    const c = load(minimal());
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.targets) && Object.isFrozen(c.targets[0]) && Object.isFrozen(c.watch.eventReasons));
    assert.throws(() => {
      (c.timeouts as { promotionMs: number }).promotionMs = 1;
    }, TypeError);
  });

  it('plugin.stateConfigMap: explicit NAMESPACE/NAME, else beside the Lease, else none (one process)', () => {
    assert.deepEqual(load({ ...minimal(), plugin: { tokenFile: 'p', stateConfigMap: 'ops/plugin-memory' } }).plugin?.stateConfigMap, { namespace: 'ops', name: 'plugin-memory' });
    assert.deepEqual(load({ ...minimal(), plugin: { tokenFile: 'p' }, leaderElection: { namespace: 'relay' } }).plugin?.stateConfigMap, { namespace: 'relay', name: 'rollout-relay-plugin-state' });
    assert.equal(load({ ...minimal(), plugin: { tokenFile: 'p' } }).plugin?.stateConfigMap, undefined);
    for (const bad of ['no-slash', `${'n'.repeat(64)}/state`, `ops/${'s'.repeat(254)}`]) {
      assert.throws(() => load({ ...minimal(), plugin: { tokenFile: 'p', stateConfigMap: bad } }), (e) => isRelayError(e, 'CONFIG_INVALID') && /plugin\.stateConfigMap/.test(e.message), bad);
    }
  });

  it('refuses unknown fields at any depth, naming each by path', () => {
    refused({ ...minimal(), extra: 1, watch: { selectr: 'a=b' }, targets: [{ name: 'shenzhen', context: 'dr', contxt: 'x' }] },
      'extra: unknown field', 'watch.selectr: unknown field', 'targets[0].contxt: unknown field');
  });

  it('lists every bad field in one refusal', () => {
    const err = refused({
      ...minimal(),
      apiVersion: 'v2',
      source: { cluster: 'Shanghai!' },
      watch: { namespaces: ['Shop'], selector: 'a in x', eventReasons: [] },
      timeouts: { promotion: 'soon' },
      onHookFailure: 'explode',
      leaderElection: { leaseDuration: '5s', renewDeadline: '10s' },
      plugin: { maxDropShare: 2 },
      github: { repo: 'nope' },
      server: { listen: 'localhost' },
    }, 'apiVersion', 'source.cluster', 'watch.namespaces[0]', 'watch.selector', 'watch.eventReasons', 'timeouts.promotion', 'onHookFailure',
    'leaderElection.renewDeadline', 'plugin.maxDropShare', 'github.repo', 'server.listen');
    assert.match(err.message, /\d+ problems/);
  });

  it('requires source, signing, trustPolicy and at least one target', () => {
    refused({ apiVersion: 'rollout-relay.io/v1', kind: 'RelayConfig' }, 'source', 'signing', 'trustPolicy', 'targets');
    refused({ ...minimal(), targets: [] }, 'targets: needs at least one target');
    refused({ ...minimal(), signing: { keys: [] } }, 'signing.keys: needs at least one signing key');
  });

  it('needs exactly one of context or clusterSecret per target, and unique target names', () => {
    refused({ ...minimal(), targets: [{ name: 'shenzhen' }] }, 'targets[0]: give exactly one of context or clusterSecret');
    refused({ ...minimal(), targets: [{ name: 'shenzhen', context: 'dr', clusterSecret: 'argocd/x' }] }, 'targets[0]: give exactly one');
    refused({ ...minimal(), targets: [{ name: 'a', context: 'dr' }, { name: 'a', context: 'dr2' }] }, 'targets[1].name: "a" appears twice');
    refused({ ...minimal(), targets: [{ name: 'a', clusterSecret: 'not-a-ref' }] }, 'targets[0].clusterSecret: must be NAMESPACE/NAME');
    refused({ ...minimal(), targets: [{ name: 'a', context: 'dr', rollouts: 'some' }] }, 'targets[0].rollouts');
  });

  it('accepts per-target overrides and ignoreFields, and refuses bad ones naming them', () => {
    const c = load({
      ...minimal(),
      targets: [{
        name: 'shenzhen', context: 'dr',
        overrides: [
          { name: 'db', select: { group: '', kind: 'ConfigMap', namespace: 'shop', name: 'orders-*' }, mergePatch: { data: { db: 'dr-db.internal' } } },
          { select: { kind: 'Ingress' }, jsonPatch: [{ op: 'replace', path: '/spec/rules/0/host', value: 'dr.example.com' }] },
        ],
        ignoreFields: [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/replicas'] }],
      }],
    });
    assert.equal(c.targets[0]!.overrides.length, 2);
    assert.deepEqual(c.targets[0]!.ignoreFields, [{ group: 'apps', kind: 'Deployment', pointers: ['/spec/replicas'] }]);
    const t = (extra: Record<string, unknown>) => ({ ...minimal(), targets: [{ name: 'a', context: 'dr', ...extra }] });
    refused(t({ overrides: [{ select: { knd: 'x' } }] }), 'targets[0].overrides[0].select.knd: unknown field');
    refused(t({ overrides: [{ select: { kind: 'x' } }] }), 'targets[0].overrides[0]: give exactly one of mergePatch or jsonPatch');
    refused(t({ overrides: [{ mergePatch: { a: 1 }, jsonPatch: [{ op: 'remove', path: '/a' }] }] }), 'give exactly one of mergePatch or jsonPatch');
    refused(t({ overrides: [{ jsonPatch: [{ op: 'replace', path: 'spec/x', value: 1 }] }] }), 'targets[0].overrides[0].jsonPatch[0].path: must be a JSON pointer');
    refused(t({ overrides: [{ jsonPatch: [{ op: 'add', path: '/spec/x' }] }] }), 'op add needs a value');
    refused(t({ overrides: [{ jsonPatch: [{ op: 'replace', path: '/metadata/name', value: 'x' }] }] }), 'names the object itself');
    refused(t({ overrides: [{ mergePatch: { metadata: { namespace: 'other' } } }] }), 'may not change the object itself');
    refused(t({ overrides: [{ name: 'x', mergePatch: { a: 1 } }, { name: 'x', mergePatch: { b: 1 } }] }), 'targets[0].overrides[1].name: "x" appears twice');
    refused(t({ ignoreFields: [{ kind: 'Deployment', pointers: ['/metadata/name'] }] }), 'targets[0].ignoreFields[0].pointers[0]: names the object itself');
    refused(t({ ignoreFields: [{ kind: 'Deployment', pointers: [] }] }), 'targets[0].ignoreFields[0].pointers');
    refused({ ...minimal(), targets: [{ name: 'a'.repeat(90), context: 'dr', overrides: [{ mergePatch: { a: 1 } }] }] }, 'cannot name an overrides file');
  });

  it('loads the trust policy and the signing key files at load time', () => {
    refused({ ...minimal(), trustPolicy: 'missing.yaml' }, 'trustPolicy: POLICY_INVALID');
    refused({ ...minimal(), signing: { keys: ['release.pub'] } }, 'signing.keys[0]');
    refused({ ...minimal(), signing: { keys: ['nope.key'] } }, 'signing.keys[0]: signing key', 'cannot be read (ENOENT)');
    refused({ ...minimal(), signing: { keys: ['/dev/zero'] } }, 'signing.keys[0]: signing key /dev/zero is not a regular file');
    refused({ ...minimal(), signing: { keys: [{ secret: 'nslash', key: 'k' }] } }, 'signing.keys[0].secret: must be NAMESPACE/NAME');
  });

  it('hands hooks to createHookRunner and reports its refusal', () => {
    refused({ ...minimal(), hooks: 'not a list' }, 'hooks must be a list');
    assert.equal(load({ ...minimal(), hooks: [] }).hooks.count, 0);
  });

  it('refuses YAML that is not YAML, and duplicate keys', () => {
    refused('apiVersion: [', 'not valid YAML');
    refused('kind: RelayConfig\nkind: RelayConfig\n', 'not valid YAML');
  });

  it('refuses a missing file with CONFIG_INVALID', () => {
    assert.throws(() => loadRelayConfig('/nonexistent/relay.yaml'), (e) => isRelayError(e, 'CONFIG_INVALID'));
  });

  it('checks label selector syntax', () => {
    for (const ok of ['rollout-relay.io/promote=true', 'a', '!a', 'a!=b', 'a==b', 'a in (x, y)', 'a notin (x),b=c', 'a=']) assert.ok(isLabelSelector(ok), ok);
    for (const bad of ['', ' ', 'a in x', 'a in (x', 'a=b=c', '=b', 'a b']) assert.ok(!isLabelSelector(bad), bad);
  });
});
