import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withJsonOption, type JsonOption } from '../global-options.js';
import { printResult } from '../output.js';
import type { KeyType } from '../signing.js';

interface KeygenOptions extends JsonOption {
  type: string;
  key: string;
  pub: string;
}

const KEY_TYPES: readonly string[] = ['ecdsa-p256', 'ed25519'];

/** Writes `text` to a new file (never over an existing one) with `mode`. */
const writeNew = async (file: string, text: string, mode: number): Promise<void> => {
  try {
    await writeFile(file, text, { flag: 'wx', mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${file} already exists; remove it or choose another file`);
    throw new CliError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
};

export const registerKeygenCommand = (program: Command): void => {
  withJsonOption(
    program
      .command('keygen')
      .description('Make a key pair for signing packages (the private key is written 0600)')
      .option('--type <type>', 'ecdsa-p256 or ed25519', 'ecdsa-p256')
      .option('--key <file>', 'where to write the private key (PEM)', 'key.pem')
      .option('--pub <file>', 'where to write the public key (PEM)', 'pub.pem'),
  ).action(async (opts: KeygenOptions) => {
    if (!KEY_TYPES.includes(opts.type)) throw new CliError(`--type must be one of ${KEY_TYPES.join(', ')}, not '${opts.type}'`);
    // Loaded on use: sigstore is most of the CLI's start-up otherwise.
    const { generateSigningKeys } = await import('../signing.js');
    const keys = generateSigningKeys(opts.type as KeyType);
    await writeNew(opts.key, keys.privatePem, 0o600);
    await writeNew(opts.pub, keys.publicPem, 0o644);
    printResult(opts.json === true, { type: opts.type, key: opts.key, pub: opts.pub, key_id: keys.keyId }, () => [
      `Wrote the private key to ${opts.key} (keep it secret) and the public key to ${opts.pub}`,
      `Key id: ${keys.keyId}`,
    ]);
  });
};
