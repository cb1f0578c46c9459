import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { readBoundedFileSync, MAX_KEY_FILE_BYTES } from '../bounded-file.js';
import { apiStatusCode, wrapTransport } from '../cluster/api-errors.js';
import type { SigningKeyRef } from '../config/types.js';
import { RelayError } from '../errors.js';
import { loadPrivateKey } from '../signing/keys.js';
import { keySigner, type Signer } from '../signing/signer.js';

/**
 * Signers from `signing.keys`: PKCS#8 PEM files (read once) and `{secret: NS/NAME, key}` entries
 * read from the source cluster on every call, so a rotated Secret signs the next promotion.
 */
export function configSigners(keys: readonly SigningKeyRef[], primary: KubeConfig): () => Promise<Signer[]> {
  const fileSigners = new Map<number, Signer>();
  keys.forEach((k, i) => {
    if ('file' in k) fileSigners.set(i, keySigner(loadPrivateKey(readBoundedFileSync(k.file, { what: 'signing key', maxBytes: MAX_KEY_FILE_BYTES, code: 'KEY_INVALID' }), k.file)));
  });
  const api = primary.makeApiClient(CoreV1Api);
  return async () => Promise.all(keys.map(async (k, i) => {
    const f = fileSigners.get(i);
    if (f) return f;
    if (!('secret' in k)) throw new RelayError('CONFIG_INVALID', `signing.keys[${i}] is neither a file nor a Secret`);
    const where = `signing key Secret ${k.secret.namespace}/${k.secret.name} key ${k.key}`;
    let secret;
    try {
      secret = await api.readNamespacedSecret({ name: k.secret.name, namespace: k.secret.namespace });
    } catch (err) {
      if (apiStatusCode(err) === 404) throw new RelayError('KEY_INVALID', `${where}: the Secret does not exist in the source cluster`);
      if (apiStatusCode(err) === 403) throw new RelayError('KEY_INVALID', `${where}: not allowed to read it; grant get on that Secret`);
      throw wrapTransport(err, `reading ${where}`);
    }
    const b64 = secret.data?.[k.key];
    if (!b64) throw new RelayError('KEY_INVALID', `${where}: the Secret has no such key`);
    return keySigner(loadPrivateKey(Buffer.from(b64, 'base64').toString('utf8'), where));
  }));
}
