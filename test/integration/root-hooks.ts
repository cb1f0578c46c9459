import { sandboxDown, sandboxUp } from '../../src/sandbox/index.js';
import { deleteTestNamespaces, setSandbox } from './support/sandbox.js';

/**
 * One real two-cluster sandbox per test run, in its own directory so it never collides with a
 * sandbox started for the demo. ROLLOUT_RELAY_KEEP_SANDBOX=1 leaves it running afterwards.
 */
const dir = process.env.ROLLOUT_RELAY_TEST_SANDBOX ?? '.sandbox-test';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    // First run on a new machine builds Kubernetes from source: allow for it.
    this.timeout(60 * 60 * 1000);
    setSandbox(await sandboxUp({ dir }));
  },
  async afterEach(): Promise<void> {
    await deleteTestNamespaces();
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    if (process.env.ROLLOUT_RELAY_KEEP_SANDBOX !== '1') await sandboxDown({ dir });
  },
};
