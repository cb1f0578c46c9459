import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseScenario } from '../../../src/drill/scenario.js';

const ROOT = new URL('../../../manifests/drill/', import.meta.url).pathname;

interface CronJob {
  spec: {
    schedule: string;
    concurrencyPolicy: string;
    jobTemplate: { spec: { activeDeadlineSeconds: number; template: { spec: { serviceAccountName: string; containers: { args: string[]; volumeMounts: { mountPath: string }[] }[] } } } };
  };
}

/** The unattended drill example: the scenario is valid and the CronJob runs exactly it, with --yes. */
describe('manifests: the drill CronJob example', () => {
  const scenario = parseScenario(parse(readFileSync(`${ROOT}drill.yaml`, 'utf8')), `${ROOT}drill.yaml`);
  const cron = parse(readFileSync(`${ROOT}cronjob.yaml`, 'utf8')) as CronJob;
  const job = cron.spec.jobTemplate.spec;
  const container = job.template.spec.containers[0]!;

  it('drill.yaml is a valid scenario with a scale-to-zero cut and the CronJob\'s schedule', () => {
    assert.equal(scenario.cut.type, 'scale-to-zero');
    assert.equal(scenario.schedule, cron.spec.schedule);
    assert.equal(scenario.config, '/etc/rollout-relay/relay.yaml');
    assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
  });

  it('the CronJob runs drill --yes on the mounted scenario, and its deadline leaves the drill time to undo', () => {
    const args = container.args;
    assert.equal(args[0], 'drill');
    assert.ok(args.includes('--yes'));
    const file = args[args.indexOf('--scenario') + 1]!;
    assert.ok(container.volumeMounts.some((m) => file.startsWith(`${m.mountPath}/`)), `${file} is mounted`);
    assert.ok(container.volumeMounts.some((m) => scenario.config.startsWith(`${m.mountPath}/`)), `${scenario.config} is mounted`);
    assert.ok(job.activeDeadlineSeconds * 1000 > scenario.timeoutMs);
    assert.equal(job.template.spec.serviceAccountName, 'rollout-relay-drill');
  });
});
