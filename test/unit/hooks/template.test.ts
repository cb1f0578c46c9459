import assert from 'node:assert/strict';
import { checkTemplate, hasPlaceholder, renderTemplate, TEMPLATE_VARIABLES } from '../../../src/hooks/template.js';
import { jobName } from '../../../src/hooks/job.js';
import { isRelayError } from '../../../src/errors.js';

const values = { revision: '7', podTemplateHash: '6d4f8b7c9', digest: 'sha256:ab', application: 'shop/checkout', namespace: 'shop', target: 'shenzhen' };

describe('hooks/template', () => {
  it('fills in every design §5 placeholder, with or without spaces', () => {
    assert.deepEqual([...TEMPLATE_VARIABLES], ['revision', 'podTemplateHash', 'digest', 'application', 'namespace', 'target']);
    assert.equal(
      renderTemplate('{{revision}}/{{ podTemplateHash }}/{{digest}}/{{application}}/{{namespace}}/{{target}}', values),
      '7/6d4f8b7c9/sha256:ab/shop/checkout/shop/shenzhen',
    );
  });

  it('refuses an unknown placeholder with CONFIG_INVALID naming where it is', () => {
    assert.throws(() => checkTemplate('x {{commit}}', 'hooks[0] query'), (e) => isRelayError(e, 'CONFIG_INVALID') && /hooks\[0\] query.*\{\{commit\}\}/.test((e as Error).message));
    checkTemplate('plain {text} and {{ target }}', 'w');
    assert.equal(hasPlaceholder('v{{revision}}'), true);
    assert.equal(hasPlaceholder('canary'), false);
  });

  it('names hook Jobs per revision, within 63 characters', () => {
    assert.equal(jobName('smoke', values), 'smoke-6d4f8b7c9');
    assert.equal(jobName('smoke', { podTemplateHash: '', revision: '12' }), 'smoke-12');
    const long = jobName('a'.repeat(40), { podTemplateHash: 'b'.repeat(40), revision: '' });
    assert.ok(long.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long));
  });
});
