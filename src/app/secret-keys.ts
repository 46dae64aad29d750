import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, statSync, writeSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatRootKeys, generateRootKey, parseRootKeys, type RootKeySource } from '../core/secrets/root-keys.js';

/** Root keys given in `AGENTRY_SECRET_KEY` (comma-separated, first = active); they cannot be changed from inside the server. */
export const envRootKeySource = (text: string): RootKeySource => ({
  description: 'AGENTRY_SECRET_KEY',
  load: async () => parseRootKeys(text, 'AGENTRY_SECRET_KEY'),
});

const writePrivate = (path: string, text: string, flag: 'wx' | 'w'): void => {
  const fd = openSync(path, flag, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/**
 * Root keys in a file in the data directory (one base64 key a line, first = active), created
 * with mode 0600 and one fresh key on first start. Rewrites are atomic (temp file, fsync, rename).
 * A file that others can read is refused.
 */
export const fileRootKeySource = (path: string): RootKeySource => ({
  description: path,
  load: async () => {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      try {
        writePrivate(path, formatRootKeys([generateRootKey()]), 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(`The secret key file ${path} is readable by other users (mode ${mode.toString(8)}); run 'chmod 600 ${path}'`);
    }
    return parseRootKeys(readFileSync(path, 'utf8'), path);
  },
  save: async (keys) => {
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    writePrivate(tmp, formatRootKeys(keys), 'wx');
    renameSync(tmp, path);
  },
});
