import type { KubeObject } from './types.js';

/**
 * Parsed manifests by the SHA-256 of their exact bytes. Parsing YAML is the largest CPU cost of a
 * verify, and the controller verifies the same manifests again and again: the same bundle once per
 * DR target, and mostly unchanged objects from one promotion to the next. The parse is a pure
 * function of the bytes, and the key is the digest the reader has just checked against index.json,
 * so a hit returns exactly what a parse would (a copy: callers may change what they get).
 * Bounded by the manifest bytes it stands for; least recently used entries go first.
 */
export class ParsedManifestCache {
  private readonly entries = new Map<string, { obj: KubeObject; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  get(sha256: string): KubeObject | undefined {
    const e = this.entries.get(sha256);
    if (!e) return undefined;
    this.entries.delete(sha256);
    this.entries.set(sha256, e); // most recently used last
    return structuredClone(e.obj);
  }

  set(sha256: string, obj: KubeObject, bytes: number): void {
    if (bytes > this.maxBytes || this.entries.has(sha256)) return;
    this.entries.set(sha256, { obj: structuredClone(obj), bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }
}

export const parsedManifests = new ParsedManifestCache();
