import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import { isAgentryError } from '../core/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, keyIdOf, publicKeyFromPem, statementFor, verifySignature, type SignedSubject } from '../core/signatures/package-signature.js';
import { CliError } from './cli-error.js';

export type KeyType = 'ecdsa-p256' | 'ed25519';

/** A new key pair in PEM: the private key (PKCS#8) and the public key (SPKI), and the key id. */
export const generateSigningKeys = (type: KeyType): { privatePem: string; publicPem: string; keyId: string } => {
  const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(pair.publicKey),
  };
};

const readKeyFile = async (file: string): Promise<string> => {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read the key ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
};

/** The private key in `file` (PEM), checked to be ECDSA P-256 or Ed25519. */
export const readPrivateKey = async (file: string): Promise<KeyObject> => {
  const pem = await readKeyFile(file);
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new CliError(`${file} is not a PEM private key (make one with 'agentry keygen')`);
  }
  try {
    publicKeyFromPem(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(), file);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  return key;
};

/**
 * Signs `subject` with the private key: a Sigstore bundle (v0.3, DSSE envelope of an in-toto
 * statement, the key named by its id as the public-key hint), built by `@sigstore/sign`, as JSON text.
 */
export const signPackage = async (privateKey: KeyObject, subject: SignedSubject): Promise<string> => {
  const publicKey = createPublicKey(privateKey);
  const signer: Signer = {
    sign: async (data) => ({
      signature: cryptoSign(privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), hint: keyIdOf(publicKey) },
    }),
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({ data: statementFor(subject), type: IN_TOTO_PAYLOAD_TYPE });
  return JSON.stringify(bundleToJSON(bundle));
};

/** The keys to verify with: `--key` files, else the PEM files listed in AGENTRY_TRUSTED_KEYS. */
export const trustedKeys = async (keyFiles: string[], env: NodeJS.ProcessEnv = process.env): Promise<KeyObject[]> => {
  const files =
    keyFiles.length > 0
      ? keyFiles
      : (env.AGENTRY_TRUSTED_KEYS ?? '')
          .split(new RegExp(`[,${delimiter === ';' ? ';' : ':'}\\n]`))
          .map((f) => f.trim())
          .filter((f) => f.length > 0);
  if (files.length === 0) throw new CliError('--verify needs a public key: --key <pub.pem>, or AGENTRY_TRUSTED_KEYS listing PEM files');
  const keys: KeyObject[] = [];
  for (const file of files) {
    try {
      keys.push(publicKeyFromPem(await readKeyFile(file), file));
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(e instanceof Error ? e.message : String(e));
    }
  }
  return keys;
};

/**
 * Throws unless one of `bundles` is a valid signature of `subject` by a trusted key; returns its key id.
 * Every bundle's reason is given when none verifies.
 */
export const verifyPackage = (bundles: string[], subject: SignedSubject, trusted: KeyObject[]): string => {
  const label = `${subject.name}@${subject.version}`;
  if (bundles.length === 0) throw new CliError(`${label} is not signed; nothing was extracted`);
  const reasons: string[] = [];
  for (const bundle of bundles) {
    try {
      return verifySignature(bundle, subject, trusted).keyId;
    } catch (e) {
      if (!isAgentryError(e)) throw e;
      reasons.push(e.message);
    }
  }
  throw new CliError(`no signature of ${label} verifies with the trusted keys; nothing was extracted`, reasons);
};
