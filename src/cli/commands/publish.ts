import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import type { PublishResult, Whoami } from '../api-types.js';
import { CliError } from '../cli-error.js';
import { connect, requireToken, type Connection } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import type { LocalManifest } from '../local-manifest.js';
import { buildMultipartBody, type MultipartPart } from '../multipart.js';
import { printResult, writeWarning } from '../output.js';
import { packagePath } from '../package-ref.js';
import { ProgressBar } from '../progress.js';
import { ACCESS_HELP, accessLevel, type AccessLevel } from '../visibility-option.js';

export interface PublishOptions extends RegistryOptions, JsonOption {
  tag?: string;
  scope?: string;
  access?: AccessLevel;
  sign?: boolean;
  key?: string;
}

/**
 * The scope to publish to. Agents and MCP servers name it in their manifest; for skills and
 * recipes it is `--scope`, else the manifest's (`metadata.scope`, `scope`, `author: "@x"`), else
 * the logged-in user.
 */
export const publishScope = async (manifest: LocalManifest, flag: string | undefined, conn: Connection): Promise<string> => {
  const wanted = flag?.replace(/^@/, '');
  if (manifest.scopeIsBinding && manifest.scope) {
    if (wanted && wanted.toLowerCase() !== manifest.scope.toLowerCase()) {
      throw new CliError(`${manifest.file} publishes to @${manifest.scope}, not @${wanted}; change the manifest or drop --scope`);
    }
    return manifest.scope;
  }
  if (wanted) return wanted;
  if (manifest.scope) return manifest.scope;
  const who = await conn.client.json<Whoami>('GET', '/whoami');
  return who.username;
};

export const registerPublishCommand = (program: Command): void => {
  withJsonOption(
    withRegistryOptions(
      program
        .command('publish')
        .description('Pack a package folder and publish it to the registry')
        .argument('[folder]', 'the package folder', '.')
        .option('--tag <tag>', "a dist-tag to point at the new version (default: 'latest' follows the highest release)")
        .option('--scope <scope>', 'the scope for a skill or recipe (default: the manifest, else your username)')
        .option('--access <visibility>', ACCESS_HELP, accessLevel)
        .option('--sign', 'sign the version with --key and attach the signature (a scope may require it)')
        .option('--key <file>', 'the private key to sign with (PEM, from agentry keygen)'),
    ),
  ).action(publishFolder);
};

/** `agentry publish [folder]`: packs the folder and uploads it (also `agentry skill publish`). */
export const publishFolder = async (folder: string, opts: PublishOptions): Promise<void> => {
  {
    if (opts.sign && !opts.key) throw new CliError('--sign needs --key <private key file>');
    if (opts.key && !opts.sign) throw new CliError('--key is only used with --sign');
    // Signing is loaded only to sign: sigstore is most of the CLI's start-up otherwise.
    const signing = opts.sign && opts.key ? await import('../signing.js') : undefined;
    const key = signing && opts.key ? await signing.readPrivateKey(opts.key) : undefined;
    const conn = await connect(opts);
    requireToken(conn);
    // Loaded on use: the manifest parsers (YAML, JSON Schema) are most of the CLI's start-up otherwise.
    const { packFolder, tarballFileName } = await import('../pack.js');
    const packed = await packFolder(folder);
    const { manifest } = packed;
    const scope = await publishScope(manifest, opts.scope, conn);

    const parts: MultipartPart[] = [{ name: 'tarball', filename: tarballFileName(manifest), contentType: 'application/gzip', data: packed.tarball }];
    if (packed.readme !== undefined) parts.push({ name: 'readme', value: packed.readme });
    if (opts.tag) parts.push({ name: 'tag', value: opts.tag });
    if (opts.access) parts.push({ name: 'access', value: opts.access });
    if (signing && key) {
      const digest = `sha256:${createHash('sha256').update(packed.tarball).digest('hex')}`;
      parts.push({ name: 'signature', value: await signing.signPackage(key, { name: `@${scope}/${manifest.name}`, version: manifest.version, digest }) });
    }

    let bar: ProgressBar | undefined;
    const label = `Uploading @${scope}/${manifest.name}@${manifest.version}`;
    let result: PublishResult;
    try {
      // The same key and bytes on every attempt: a retry after a lost reply is never a 409.
      result = (await conn.client.publishIdempotently(
        'PUT',
        conn.client.apiUrl(packagePath({ scope, name: manifest.name })),
        () => {
          const body = buildMultipartBody(parts, (n) => bar?.advance(n));
          bar?.clear();
          bar = new ProgressBar(label, body.length);
          return { headers: { 'content-type': body.contentType, 'content-length': String(body.length), accept: 'application/json' }, body: body.stream, duplex: 'half' };
        },
        { onRetry: (reason) => writeWarning(`the reply to the upload was lost (${reason}); sending it again`) },
      )) as PublishResult;
    } catch (e) {
      bar?.clear();
      throw e;
    }
    bar?.finish();
    printResult(opts.json === true, result, () => `Published ${result.full_name}@${result.version} (sha256:${result.sha256})${key ? ', signed' : ''}`);
  }
};
