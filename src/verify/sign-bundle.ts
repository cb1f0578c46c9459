import { basename } from 'node:path';
import { scanBundle } from '../bundle/reader.js';
import { fileChunks, regularFileSize } from '../bundle/source.js';
import type { ReadLimits } from '../bundle/tar-reader.js';
import type { BundleIndex } from '../bundle/types.js';
import { writeFileAtomic } from '../bundle/create.js';
import { serializeEnvelope, type Envelope } from '../signing/dsse.js';
import { signBundleDigest } from '../signing/envelope.js';
import type { Signer } from '../signing/signer.js';

export interface SignedBundle {
  envelope: Envelope;
  /** Lower-case hex SHA-256 of the bundle. */
  digest: string;
  index: BundleIndex;
  signaturePath: string;
}

/**
 * Checks a bundle file (a hostile or damaged bundle is never signed), then writes a DSSE envelope
 * signed by every signer to `out` (default `<bundle>.sig.json`), atomically.
 */
export async function signBundleFile(options: { bundlePath: string; signers: readonly Signer[]; out?: string; limits?: ReadLimits }): Promise<SignedBundle> {
  // One streaming pass (constant memory): structure, every file digest, limits.
  const totalSize = await regularFileSize(options.bundlePath);
  const read = await scanBundle(fileChunks(options.bundlePath), { ...(options.limits ? { limits: options.limits } : {}), totalSize });
  const envelope = await signBundleDigest(basename(options.bundlePath), read.digest, read.index, options.signers);
  const signaturePath = options.out ?? `${options.bundlePath}.sig.json`;
  await writeFileAtomic(signaturePath, [Buffer.from(serializeEnvelope(envelope), 'utf8')]);
  return { envelope, digest: read.digest, index: read.index, signaturePath };
}
