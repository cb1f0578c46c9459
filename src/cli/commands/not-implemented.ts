import type { Command } from 'commander';
import { RelayError } from '../../errors.js';

/**
 * Declares a command from the design that is not built yet. It is listed in --help, takes any
 * arguments, and refuses plainly with exit code 2 instead of printing invented output.
 */
export function declareUnbuilt(parent: Command, name: string, description: string, issue: string): Command {
  return parent
    .command(name)
    .description(`${description} [not built yet: ${issue}]`)
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(() => {
      throw new RelayError('NOT_IMPLEMENTED', `'${name}' is not built yet (${issue}); nothing was done`);
    });
}
