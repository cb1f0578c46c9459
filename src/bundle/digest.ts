import { createHash } from 'node:crypto';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>`, the form printed by the CLI and stored in status. */
export function formatDigest(hex: string): string {
  return `sha256:${hex}`;
}

/** Accepts `sha256:<hex>` or bare hex; returns lower-case hex or undefined when it is not a SHA-256 digest. */
export function parseDigest(value: string): string | undefined {
  const hex = value.startsWith('sha256:') ? value.slice('sha256:'.length) : value;
  return SHA256_HEX.test(hex) ? hex : undefined;
}
