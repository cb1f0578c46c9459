#!/usr/bin/env node
import { formatError } from '../errors.js';
import { EXIT_FAILURE, main } from './main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(formatError(err) + '\n');
    process.exitCode = EXIT_FAILURE;
  },
);
