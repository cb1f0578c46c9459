import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/**
 * Debian's headless Chromium, for tests that must see a page as a browser renders it. Missing
 * Chromium is a test failure with the fix in the message, never a silent skip; .ci/run installs it.
 */

const run = promisify(execFile);
const NAMES = ['chromium', 'chromium-browser'];

export function chromiumBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of NAMES) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here; keep looking
      }
    }
  }
  throw new Error(`headless Chromium not found on PATH (looked for ${NAMES.join(', ')}): install Debian's package with \`apt-get install chromium\` (.ci/run does this on CI)`);
}

/** Runs Chromium headless on a local file with its own throw-away profile (parallel runs never share one). */
async function headless(file: string, args: string[]): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'rr-chromium-'));
  try {
    const { stdout } = await run(
      chromiumBinary(),
      // --no-sandbox: CI runs as root, where Chromium refuses its own sandbox.
      ['--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args, pathToFileURL(file).href],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM after Chromium parsed and loaded the page, serialized (`--dump-dom`). */
export function chromiumDumpDom(file: string): Promise<string> {
  return headless(file, ['--dump-dom']);
}

/** A PNG screenshot of the page in a window of the given size. */
export async function chromiumScreenshot(file: string, png: string, width = 1200, height = 900): Promise<void> {
  await headless(file, [`--screenshot=${png}`, `--window-size=${width},${height}`]);
}
