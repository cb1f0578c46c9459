import { Command, CommanderError } from 'commander';
import { formatError, RelayError } from '../errors.js';
import { PRODUCER_VERSION } from '../version.js';
import { registerCommands } from './commands/index.js';

/** Exit codes: 0 success, 1 a refusal or failure with an error code, 2 usage errors and unbuilt commands. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('rollout-relay')
    .description('Carry a finished rollout from the primary cluster to DR clusters as a signed, verified bundle.')
    .version(PRODUCER_VERSION, '-V, --version')
    .showHelpAfterError('(run rollout-relay --help for the list of commands)')
    .exitOverride()
    // Options belong to the command they follow: `drill recover --scenario F` is recover's --scenario, not drill's.
    .enablePositionalOptions()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  program.commands.forEach(function applyOverrides(cmd: Command): void {
    cmd.exitOverride();
    cmd.showHelpAfterError();
    cmd.commands.forEach(applyOverrides);
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(formatError(err) + '\n');
    if (err instanceof RelayError && err.code === 'USAGE') return EXIT_USAGE;
    return EXIT_FAILURE;
  }
}
