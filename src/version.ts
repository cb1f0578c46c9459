import { readFileSync } from 'node:fs';

/** The producer name and version stamped into bundles and printed by `--version`. */
export const PRODUCER_NAME = 'rollout-relay';

function readPackageVersion(): string {
  // dist/version.js and src/version.ts both sit one level below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const PRODUCER_VERSION = readPackageVersion();
