import type { Command } from 'commander';
import { registerKeys } from './keys.js';
import { registerBundle } from './bundle.js';
import { registerSandbox } from './sandbox.js';
import { registerDemo } from './demo.js';
import { registerApply } from './apply.js';
import { registerStatus } from './status.js';
import { registerController } from './controller.js';
import { registerPromote, registerResume } from './promote.js';
import { registerDiff } from './diff.js';
import { registerPolicy } from './policy.js';
import { registerHooks } from './hooks.js';
import { registerAppsetPlugin } from './appset-plugin.js';
import { registerDrill } from './drill.js';

/**
 * The command surface of design §7. Each built command lives in its own module and registers
 * itself here; the rest are declared so --help shows the whole product and they refuse plainly.
 */
export function registerCommands(program: Command): void {
  registerKeys(program);
  registerBundle(program);
  registerApply(program);
  registerPromote(program);
  registerResume(program);
  registerDiff(program);
  registerController(program);
  registerHooks(program);
  registerStatus(program);
  registerPolicy(program);
  registerDrill(program);
  registerAppsetPlugin(program);
  registerSandbox(program);
  registerDemo(program);
}
