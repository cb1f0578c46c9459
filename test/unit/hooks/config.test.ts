import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHookRunner, HookList } from '../../../src/hooks/index.js';
import { compare, parseComparison, parseHookSpecs, type JobSpec, type PrometheusSpec, type TrafficColourSpec } from '../../../src/hooks/config.js';
import { isRelayError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rr-hooks-config-'));
const JOB = [
  'apiVersion: batch/v1', 'kind: Job', 'metadata: {name: ignored, labels: {team: shop}}',
  'spec:', '  backoffLimit: 0', '  template:', '    spec:', '      restartPolicy: Never',
  '      containers: [{name: smoke, image: "registry.example/smoke:{{podTemplateHash}}", args: ["{{application}}"]}]', '',
].join('\n');
writeFileSync(join(dir, 'smoke.yaml'), JOB);

const colour = { name: 'colour', type: 'traffic-colour', url: 'http://dr-gateway:8080/orders', header: { name: 'x-traffic-color', value: '{{podTemplateHash}}' }, expect: { header: 'X-Version', value: '{{podTemplateHash}}' }, timeout: '20s' };
const prom = { name: 'errors', type: 'prometheus', url: 'http://prometheus:9090', query: 'sum(rate(x{version="{{podTemplateHash}}"}[30s]))', pass: '< 0.005' };
const job = { name: 'smoke', type: 'job', template: 'smoke.yaml', timeout: 60 };

function refused(raw: unknown, ...mustMention: string[]): void {
  assert.throws(() => createHookRunner(raw, { baseDir: dir }), (e) => {
    assert.ok(isRelayError(e, 'CONFIG_INVALID'), String(e));
    for (const m of mustMention) assert.match((e as Error).message, new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    return true;
  });
}

describe('hooks/config: the hooks: list is validated at load', () => {
  it('parses the design §5 example with its defaults', () => {
    const [c, p, j] = parseHookSpecs([colour, prom, job], dir) as [TrafficColourSpec, PrometheusSpec, JobSpec];
    assert.equal(c.timeoutMs, 20_000);
    assert.equal(c.requests, 50);
    assert.equal(c.minShare, 1);
    assert.equal(c.expect.header, 'x-version');
    assert.deepEqual(p.pass, { op: '<', value: 0.005 });
    assert.equal(p.noData, 'fail');
    assert.deepEqual(p.expectLabel, { name: 'version', value: '{{podTemplateHash}}' });
    assert.equal(p.timeoutMs, 30_000);
    assert.equal(j.timeoutMs, 60_000);
    assert.equal(j.templatePath, join(dir, 'smoke.yaml'));
    assert.equal(j.templateText, JOB);
    const runner = createHookRunner([colour, prom, job], { baseDir: dir });
    assert.ok(runner instanceof HookList);
    assert.equal(runner.count, 3);
    assert.deepEqual(runner.names, ['colour', 'errors', 'smoke']);
  });

  it('an empty or missing list means no hooks', () => {
    assert.equal(createHookRunner(undefined, { baseDir: dir }).count, 0);
    assert.equal(createHookRunner([], { baseDir: dir }).count, 0);
  });

  it('refuses an unknown hook type, naming the hook', () => {
    refused([colour, { name: 'pager', type: 'webhook', url: 'http://x' }], 'hooks[1] (pager)', 'unknown hook type "webhook"');
  });

  it('refuses a bad comparison, naming the hook', () => {
    refused([{ ...prom, pass: '=< 1' }], 'hooks[0] (errors)', '=< 1');
    refused([{ ...prom, pass: '< lots' }], 'errors');
    refused([{ ...prom, pass: '~ 1' }], 'errors');
  });

  it('refuses a Job template that cannot be read, or is not one Job', () => {
    refused([{ ...job, template: 'missing.yaml' }], 'hooks[0] (smoke)', 'missing.yaml', 'ENOENT');
    writeFileSync(join(dir, 'two.yaml'), `${JOB}---\n${JOB}`);
    refused([{ ...job, template: 'two.yaml' }], 'smoke', '2 documents');
    writeFileSync(join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n');
    refused([{ ...job, template: 'pod.yaml' }], 'smoke', 'batch/v1 Job');
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {containers: [}}}\n');
    refused([{ ...job, template: 'broken.yaml' }], 'smoke', 'YAML');
  });

  it('refuses unknown placeholders, fixed colours, unknown fields, bad URLs and durations', () => {
    refused([{ ...prom, query: 'up{version="{{hash}}"}' }], 'errors', '{{hash}}');
    writeFileSync(join(dir, 'typo.yaml'), JOB.replace('{{application}}', '{{app}}'));
    refused([{ ...job, template: 'typo.yaml' }], 'smoke', '{{app}}');
    refused([{ ...colour, header: { name: 'x-traffic-color', value: 'canary' } }], 'colour', 'header.value');
    refused([{ ...colour, expect: { header: 'x-version', value: 'v2' } }], 'colour', 'expect.value');
    refused([{ ...colour, retries: 3 }], 'colour', 'retries');
    refused([{ ...colour, url: 'ftp://x/' }], 'colour', 'http or https');
    refused([{ ...colour, expect: { value: '{{revision}}' } }], 'colour', 'exactly one of header or body');
    refused([{ ...colour, timeout: 'soon' }], 'colour', 'soon');
    refused([{ ...prom, noData: 'maybe' }], 'errors');
    refused([colour, { ...prom, name: 'colour' }], 'used twice');
    refused([{ ...prom, name: 'Errors_Gate' }], 'hooks[0]');
    refused({ colour }, 'hooks must be a list');
  });

  it('comparisons: every operator, and NaN never passes', () => {
    const c = (t: string, v: number): boolean => compare(v, parseComparison(t, 'x'));
    assert.ok(c('< 0.005', 0.004) && !c('< 0.005', 0.005));
    assert.ok(c('<= 0.005', 0.005) && !c('<=0.005', 0.006));
    assert.ok(c('> 2', 3) && !c('> 2', 2));
    assert.ok(c('>= 2', 2) && !c('>= 2', 1.9));
    assert.ok(c('== 3', 3) && !c('== 3', 3.1));
    assert.ok(c('!= 0', 1) && !c('!= 0', 0));
    assert.ok(c('< 1e-3', 0.0005));
    for (const t of ['< 1', '<= 1', '> 1', '>= 1', '== 1', '!= 1']) assert.equal(c(t, NaN), false, t);
  });
});
