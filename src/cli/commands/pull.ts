import { createHash } from 'node:crypto';
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DownloadTarget } from '../api-types.js';
import { connect } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult } from '../output.js';
import { packagePath, parsePackageRef } from '../package-ref.js';
import { ProgressBar } from '../progress.js';
import { downloadVerified } from '../verified-download.js';
import { CliError } from '../cli-error.js';
import { versionSignatures } from './sign.js';

export interface PullOptions extends RegistryOptions, JsonOption {
  out?: string;
  verify?: boolean;
  key?: string[];
}

export const registerPullCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('pull')
        .description('Download a package, verify its sha256 and extract it into a new folder')
        .argument('<package>', '@scope/name, @scope/name@version or @scope/name@tag (default: latest)')
        .option('--out <dir>', 'the folder to create (default: ./<name>)')
        .option('--verify', 'extract only if a signature verifies with a trusted key (--key, else AGENTRY_TRUSTED_KEYS)')
        .option('--key <file>', 'a trusted public key (PEM); repeatable', (v: string, prev: string[] = []) => [...prev, v]),
    ),
  ).action((spec: string, opts: PullOptions) => pullPackage(spec, opts));
};

/** `agentry pull <package>`; `kindPath` narrows the lookup to one kind (`/skills` for `agentry skill pull`). */
export const pullPackage = async (spec: string, opts: PullOptions, kindPath?: string): Promise<void> => {
  {
    const ref = parsePackageRef(spec, 'optional');
    const wanted = ref.version ?? 'latest';
    const dest = resolve(opts.out ?? ref.name);
    // Loaded on use: the tar reader and the manifest parsers are most of the CLI's start-up otherwise.
    const [{ extractToNewFolder, refuseExisting }, { readLocalManifest }] = await Promise.all([import('../extract.js'), import('../local-manifest.js')]);
    await refuseExisting(dest);
    if (opts.key && !opts.verify) throw new CliError('--key is only used with --verify');
    // Loaded only to verify: sigstore is most of the CLI's start-up otherwise.
    const signing = opts.verify ? await import('../signing.js') : undefined;
    const trusted = signing ? await signing.trustedKeys(opts.key ?? []) : undefined;
    const conn = await connect(opts);
    const path = kindPath ? packagePath(ref).replace(/^\/packages\//, `${kindPath}/`) : packagePath(ref);
    // Verifying: resolve the version with its signatures first, then download exactly that version.
    const signed = trusted ? await versionSignatures(conn, ref, wanted) : undefined;
    const target = await conn.client.json<DownloadTarget>('GET', `${path}/download/${encodeURIComponent(signed?.version ?? wanted)}`, { subject: `${ref.fullName}@${wanted}` });

    const bar = new ProgressBar(`Downloading ${ref.fullName}@${wanted}`, target.size);
    let tarball: Buffer;
    try {
      tarball = await downloadVerified(conn.client, target.tarball_url, target, (n) => bar.advance(n));
    } catch (e) {
      bar.clear();
      throw e;
    }
    bar.finish();
    let keyId: string | undefined;
    if (signing && trusted && signed) {
      const digest = `sha256:${createHash('sha256').update(tarball).digest('hex')}`;
      keyId = signing.verifyPackage(
        signed.signatures.map((s) => JSON.stringify(s.bundle)),
        { name: signed.package, version: signed.version, digest },
        trusted,
      );
    }
    await extractToNewFolder(tarball, dest);

    let version = wanted;
    try {
      version = (await readLocalManifest(dest)).version;
    } catch {
      /* the package pulled fine; its manifest just cannot tell us the version */
    }
    const shown = relative(process.cwd(), dest);
    const where = shown === '' ? '.' : shown.startsWith('..') ? dest : `./${shown}`;
    printResult(
      opts.json === true,
      { name: ref.fullName, version, path: dest, sha256: target.sha256, size: target.size, ...(keyId ? { verified_key_id: keyId } : {}) },
      () => `Pulled ${ref.fullName}@${version} into ${where} (sha256:${target.sha256})${keyId ? `, signature verified with key ${keyId}` : ''}`,
    );
  }
};
