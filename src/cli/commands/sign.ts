import type { Command } from 'commander';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';
import { packagePath, parsePackageRef, type PackageRef } from '../package-ref.js';
import { downloadVerified } from '../verified-download.js';

interface SignOptions extends RegistryOptions, JsonOption {
  key: string;
}

/** A version's signatures as the registry shows them (`GET …/versions/:version/signatures`). */
export interface VersionSignatures {
  package: string;
  version: string;
  sha256: string;
  size: number;
  signed: boolean;
  signatures: Array<{ digest: string; key_id: string | null; trusted: boolean | null; bundle: Record<string, unknown> }>;
}

/** The path of a version's signatures. */
export const signaturesPath = (ref: Pick<PackageRef, 'scope' | 'name'>, version: string): string => `${packagePath(ref)}/versions/${encodeURIComponent(version)}/signatures`;

/** Resolves a version (or dist-tag) and its signatures. */
export const versionSignatures = (conn: Connection, ref: PackageRef, version: string): Promise<VersionSignatures> =>
  conn.client.json<VersionSignatures>('GET', signaturesPath(ref, version), { subject: `${ref.fullName}@${version}` });

export const registerSignCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('sign')
        .description("Sign a published version with your key and attach the signature to it (an OCI referrer); the scope's writers only")
        .argument('<package>', '@scope/name@version (or a dist-tag)')
        .requiredOption('--key <file>', 'the private key (PEM, from agentry keygen)'),
    ),
  ).action(async (spec: string, opts: SignOptions) => {
    const ref = parsePackageRef(spec, 'required');
    // Loaded on use: sigstore is most of the CLI's start-up otherwise.
    const { readPrivateKey, signPackage } = await import('../signing.js');
    const key = await readPrivateKey(opts.key);
    const conn = await connect(opts);
    requireToken(conn);
    const current = await versionSignatures(conn, ref, ref.version!);
    // Sign only bytes seen here: the tarball is downloaded and its sha256 checked first.
    await downloadVerified(conn.client, `${conn.client.apiUrl('/blobs')}/sha256:${current.sha256}`, current);
    const bundle = await signPackage(key, { name: current.package, version: current.version, digest: `sha256:${current.sha256}` });
    const r = await conn.client.json<{ package: string; version: string; key_id: string; digest: string }>('POST', signaturesPath(ref, current.version), {
      body: { bundle: JSON.parse(bundle) as unknown },
      subject: `${ref.fullName}@${current.version}`,
    });
    printResult(opts.json === true, r, () => `Signed ${r.package}@${r.version} with key ${r.key_id} (signature ${r.digest})`);
  });
};
