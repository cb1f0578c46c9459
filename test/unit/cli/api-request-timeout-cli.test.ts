import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRequestTimeoutOption } from '../../../src/cli/api-request-timeout.js';
import { isRelayError } from '../../../src/errors.js';
import { kubeconfigText, listen, tlsOptions } from '../../helpers/api-test-servers.js';
import { runCli, runCliInProcess } from './run-cli.js';

describe('cli: --api-request-timeout (commands with a kubeconfig and no RelayConfig)', function () {
  this.timeout(30_000);

  it('parses a duration of at least 1 s; absent means the transport default', () => {
    assert.deepEqual(apiRequestTimeoutOption(undefined), {});
    assert.deepEqual(apiRequestTimeoutOption('5s'), { requestTimeoutMs: 5_000 });
    assert.deepEqual(apiRequestTimeoutOption('2m'), { requestTimeoutMs: 120_000 });
    assert.throws(() => apiRequestTimeoutOption('500ms'), (e) => isRelayError(e, 'USAGE') && /--api-request-timeout 500ms is below the 1 s minimum/.test(e.message));
    assert.throws(() => apiRequestTimeoutOption('0s'), (e) => isRelayError(e, 'USAGE') && /duration "0s"/.test(e.message));
    assert.throws(() => apiRequestTimeoutOption('soon'), (e) => isRelayError(e, 'USAGE'));
  });

  it('apply refuses an out-of-bounds value with USAGE before it reads anything', async () => {
    const r = await runCliInProcess('apply', '--bundle', '/nonexistent.bundle.tar', '--policy', '/nonexistent.yaml', '--context', 'x', '--api-request-timeout', '100ms');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /USAGE.*--api-request-timeout 100ms is below the 1 s minimum/);
  });

  it('status against an API server that never answers fails CLUSTER_UNREACHABLE at the given bound', async () => {
    const server = createHttpsServer(tlsOptions, () => undefined); // accepts, never answers
    const dir = mkdtempSync(join(tmpdir(), 'rr-timeout-cli-'));
    try {
      writeFileSync(join(dir, 'kubeconfig'), kubeconfigText({ dr: await listen(server) }));
      const r = await runCli(['status', '--kubeconfig', join(dir, 'kubeconfig'), '--context', 'dr', '--api-request-timeout', '1s']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /CLUSTER_UNREACHABLE.*listing status ConfigMaps: GET \/api\/v1\/configmaps got no answer from https:\/\/127\.0\.0\.1:\d+ within the 1 s request timeout/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
