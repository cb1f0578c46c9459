import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TlsClient {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

/** GET over TLS with the sandbox CA (verification on) and an optional client certificate. */
export function httpsGet(url: string, tls: TlsClient, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `check` until it returns true or `timeoutMs` passes; `describe` explains on timeout what
 * was awaited. `isDead` lets a wait give up at once when the process it waits for has exited.
 */
export async function waitFor(
  describe: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; isDead?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    const dead = opts.isDead?.();
    if (dead) throw new Error(`${describe}: ${dead}`);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(opts.intervalMs ?? 200);
  }
  throw new Error(`${describe}: not ready after ${opts.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}`);
}
