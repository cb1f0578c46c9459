import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readBoundedFile, MAX_KEY_FILE_BYTES } from '../../bounded-file.js';
import { RelayError } from '../../errors.js';
import {
  algorithmOf,
  certificatePublicKey,
  createSelfSignedCertificate,
  generateSigningKeyPair,
  keyIdOf,
  privateKeyPem,
  publicKeyPem,
  DEFAULT_ALGORITHM,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '../../signing/index.js';

interface GenerateOptions {
  algorithm: SigningAlgorithm;
  outDir: string;
  name: string;
  cert?: boolean;
  commonName?: string;
  days: string;
  force?: boolean;
  json?: boolean;
}

/** A public key from a public key, private key or certificate PEM (for `keys id`). */
function anyPublicKey(pem: string, where: string): KeyObject {
  if (pem.includes('-----BEGIN CERTIFICATE-----')) return certificatePublicKey(pem, where).publicKey;
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new RelayError('KEY_INVALID', `${where}: not a PEM key or certificate`, { cause: err });
  }
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('generate and inspect signing keys');

  keys
    .command('generate')
    .description('generate a signing key pair: NAME.key (PKCS#8, mode 0600) and NAME.pub (SPKI); prints the key id')
    .addOption(new Option('--algorithm <alg>', 'signature scheme').choices([...SIGNING_ALGORITHMS]).default(DEFAULT_ALGORITHM))
    .requiredOption('--out-dir <dir>', 'directory for the key files')
    .requiredOption('--name <name>', 'file name stem, e.g. release-signer-1')
    .option('--cert', 'also write NAME.crt, a self-signed X.509 certificate')
    .option('--common-name <cn>', 'certificate subject CN (default: NAME)')
    .option('--days <n>', 'certificate validity in days', '365')
    .option('--force', 'overwrite existing files')
    .option('--json', 'print {keyId, algorithm, files} as JSON')
    .action(async (opts: GenerateOptions) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(opts.name)) throw new RelayError('USAGE', `--name ${JSON.stringify(opts.name)} must be a plain file name`);
      const days = Number(opts.days);
      if (!Number.isInteger(days) || days < 1) throw new RelayError('USAGE', '--days must be a positive integer');
      const files = { privateKey: join(opts.outDir, `${opts.name}.key`), publicKey: join(opts.outDir, `${opts.name}.pub`), ...(opts.cert ? { certificate: join(opts.outDir, `${opts.name}.crt`) } : {}) };
      for (const f of Object.values(files)) {
        if (!opts.force && existsSync(f)) throw new RelayError('USAGE', `${f} exists; pass --force to overwrite or pick another --name`);
      }
      const { privateKey, publicKey } = generateSigningKeyPair(opts.algorithm);
      await mkdir(opts.outDir, { recursive: true });
      await writeFile(files.privateKey, privateKeyPem(privateKey), { mode: 0o600, flag: 'w' });
      await writeFile(files.publicKey, publicKeyPem(publicKey), { mode: 0o644 });
      if (files.certificate) {
        await writeFile(files.certificate, createSelfSignedCertificate(privateKey, { commonName: opts.commonName ?? opts.name, days }), { mode: 0o644 });
      }
      const keyId = keyIdOf(publicKey);
      process.stdout.write(opts.json ? JSON.stringify({ keyId, algorithm: opts.algorithm, files }, null, 2) + '\n' : `${keyId}\n`);
    });

  keys
    .command('id')
    .description('print the key id (hex SHA-256 of the canonical SPKI DER) of a public key, private key or certificate')
    .argument('<file>', 'PEM file')
    .action(async (file: string) => {
      const pem = (await readBoundedFile(file, { what: 'key', maxBytes: MAX_KEY_FILE_BYTES, code: 'KEY_INVALID' })).toString('utf8');
      const key = anyPublicKey(pem, file);
      process.stdout.write(`${keyIdOf(key)} ${algorithmOf(key)}\n`);
    });
}
