import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON, isBundleWithDsseEnvelope, isBundleWithPublicKey, type Bundle } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { unprocessable, type AgentryError } from '../errors.js';

/**
 * Package signatures: Sigstore bundles (v0.3) holding a DSSE envelope whose payload is an in-toto
 * statement naming `@scope/name@version` and the sha256 of the version's tarball, signed with a key
 * (ECDSA P-256 or Ed25519) that the bundle names by a hint, the key id. Key-based only: no Fulcio
 * certificate, no Rekor entry, no timestamp. The one rule for what a valid signature is, used by the
 * server (publish to a scope that requires signatures, attaching one) and by `agentry pull --verify`;
 * the cryptography is the maintained `@sigstore/verify`'s.
 */

/** The bundle's media type; also the `artifactType` and layer media type of the referrer that carries it (as cosign stores them). */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** The predicate cosign writes for a plain signature. */
export const SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
/** At most this many bytes of bundle are read. */
export const MAX_BUNDLE_BYTES = 64 * 1024;

/** What a package signature signs: one version of a package and its tarball's digest (`sha256:<hex>`). */
export interface SignedSubject {
  /** `@scope/name` */
  name: string;
  version: string;
  digest: string;
}

const refuse = (message: string): AgentryError => unprocessable(message);

/** `@scope/name@version`, lower-cased as package keys are. */
const subjectName = (s: SignedSubject): string => `${s.name.toLowerCase()}@${s.version}`;

/** The in-toto statement a signature of `subject` signs (the DSSE payload). */
export const statementFor = (subject: SignedSubject): Buffer =>
  Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_V1,
      subject: [{ name: subjectName(subject), digest: { sha256: subject.digest.replace(/^sha256:/, '') } }],
      predicateType: SIGN_PREDICATE_TYPE,
      predicate: {},
    }),
  );

/** A public key in PEM (SPKI), checked to be ECDSA P-256 or Ed25519. */
export const publicKeyFromPem = (pem: string, label = 'the public key'): KeyObject => {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw refuse(`${label} is not a PEM public key`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ed25519' || (key.asymmetricKeyType === 'ec' && curve === 'prime256v1')) return key;
  throw refuse(`${label} is a ${key.asymmetricKeyType}${curve ? ` (${curve})` : ''} key; signatures use ECDSA P-256 or Ed25519`);
};

/** A key's id, the bundle's public-key hint: the hex sha256 of its DER SubjectPublicKeyInfo. */
export const keyIdOf = (key: KeyObject): string =>
  createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');

/** A parsed package signature: the bundle, the id of the key it names, and what it says it signs. */
export interface ParsedSignature {
  bundle: Bundle;
  keyId: string;
  /** The subjects of its statement: `@scope/name@version` and a sha256 hex each. */
  subjects: Array<{ name: string; sha256: string }>;
}

/** Parses a bundle as a package signature: a v0.3 bundle with a DSSE in-toto statement and a key hint. */
export const parseSignature = (bytes: Buffer | string): ParsedSignature => {
  if (bytes.length > MAX_BUNDLE_BYTES) throw refuse(`A signature bundle is at most ${MAX_BUNDLE_BYTES} bytes`);
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString()));
  } catch (e) {
    throw refuse(`The signature is not a Sigstore bundle: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (bundle.mediaType !== SIGSTORE_BUNDLE_MEDIA_TYPE) throw refuse(`The signature bundle is ${bundle.mediaType}; expected ${SIGSTORE_BUNDLE_MEDIA_TYPE}`);
  if (!isBundleWithPublicKey(bundle) || !isBundleWithDsseEnvelope(bundle)) {
    throw refuse('The signature bundle must hold a DSSE envelope signed with a key named by a public-key hint (no certificate)');
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw refuse(`The signature's payload is ${envelope.payloadType}; expected ${IN_TOTO_PAYLOAD_TYPE}`);
  let statement: unknown;
  try {
    statement = JSON.parse(envelope.payload.toString());
  } catch {
    throw refuse("The signature's in-toto statement is not JSON");
  }
  const raw = (statement as { subject?: unknown }).subject;
  const subjects = (Array.isArray(raw) ? raw : []).flatMap((s: unknown) => {
    const o = s as { name?: unknown; digest?: { sha256?: unknown } };
    return typeof o?.name === 'string' && typeof o.digest?.sha256 === 'string' ? [{ name: o.name, sha256: o.digest.sha256 }] : [];
  });
  if (subjects.length === 0) throw refuse("The signature's in-toto statement names no subject with a sha256 digest");
  return { bundle, keyId: bundle.verificationMaterial.content.publicKey.hint, subjects };
};

/** Throws unless the signature's statement names exactly this package version and tarball digest. */
export const requireSubject = (parsed: ParsedSignature, expected: SignedSubject): void => {
  const sha = expected.digest.replace(/^sha256:/, '');
  const named = parsed.subjects.find((s) => s.name.toLowerCase() === subjectName(expected));
  if (!named) throw refuse(`The signature is for ${parsed.subjects.map((s) => s.name).join(', ')}, not ${subjectName(expected)}`);
  if (named.sha256 !== sha) throw refuse(`The signature is for a tarball with sha256 ${named.sha256}; ${subjectName(expected)} has sha256 ${sha} (tampered, or signed before a change)`);
};

const NO_ROOT = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };

/**
 * Verifies a package signature of `expected` against the trusted keys: the key it names must be one
 * of them, the signature must verify (`@sigstore/verify`), and its statement must name exactly this
 * package version and tarball digest. Returns the key id; throws an `unprocessable` error naming why.
 */
export const verifySignature = (bytes: Buffer | string, expected: SignedSubject, trusted: KeyObject[]): { keyId: string } => {
  const parsed = parseSignature(bytes);
  const keys = new Map(trusted.map((k) => [keyIdOf(k), k]));
  const key = keys.get(parsed.keyId);
  if (!key) {
    throw refuse(
      trusted.length === 0 ? 'No trusted key to verify the signature with' : `The signature was made with key ${parsed.keyId}, which is not a trusted key (trusted: ${[...keys.keys()].join(', ')})`,
    );
  }
  const material = toTrustMaterial(NO_ROOT as unknown as Parameters<typeof toTrustMaterial>[0], () => ({ publicKey: key, validFor: () => true }));
  try {
    new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(parsed.bundle));
  } catch (e) {
    throw refuse(`The signature does not verify with key ${parsed.keyId}: ${e instanceof Error ? e.message : String(e)}`);
  }
  requireSubject(parsed, expected);
  return { keyId: parsed.keyId };
};
