import { badRequest } from '../errors.js';
import { checkSecretAddress, type SecretStore } from './secret-store.js';

const envName = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/**
 * The environment-variables backend (read-only): the value of key `K` in namespace `N` of
 * owner `O` is the variable `<prefix>O__N__K` if set, else `<prefix>K` (names upper-cased,
 * other characters turned into `_`). Variables whose names start with `AGENTRY_` are never
 * read unless the prefix itself starts so, so a secret reference cannot reach the server's
 * own configuration (its admin token, its database URL).
 */
export class EnvSecretStore implements SecretStore {
  readonly backend = 'env' as const;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly prefix = 'SECRET_',
  ) {}

  async put(owner: string, namespace: string, key: string, _value?: string): Promise<void> {
    checkSecretAddress(owner, namespace, key);
    throw badRequest(`The environment secret backend is read-only: set ${this.names(owner, namespace, key).join(' or ')} in the server's environment instead`);
  }

  async get(owner: string, namespace: string, key: string): Promise<string | undefined> {
    checkSecretAddress(owner, namespace, key);
    for (const name of this.names(owner, namespace, key)) {
      const v = this.readable(name) ? this.env[name] : undefined;
      if (v !== undefined) return v;
    }
    return undefined;
  }

  async delete(owner: string, namespace: string, key: string): Promise<boolean> {
    checkSecretAddress(owner, namespace, key);
    throw badRequest(`The environment secret backend is read-only: unset ${this.names(owner, namespace, key).join(' or ')} in the server's environment instead`);
  }

  async list(owner: string, namespace: string): Promise<string[]> {
    checkSecretAddress(owner, namespace);
    const specific = `${this.prefix}${envName(owner)}__${envName(namespace)}__`;
    const keys = new Set<string>();
    for (const name of Object.keys(this.env)) {
      if (!this.readable(name) || !name.startsWith(this.prefix)) continue;
      if (name.startsWith(specific)) keys.add(name.slice(specific.length));
      else if (!name.slice(this.prefix.length).includes('__')) keys.add(name.slice(this.prefix.length));
    }
    return [...keys].filter((k) => k.length > 0).sort();
  }

  /** The variable names tried for a key, most specific first. */
  names(owner: string, namespace: string, key: string): string[] {
    return [`${this.prefix}${envName(owner)}__${envName(namespace)}__${envName(key)}`, `${this.prefix}${envName(key)}`];
  }

  private readable(name: string): boolean {
    return !name.startsWith('AGENTRY_') || this.prefix.startsWith('AGENTRY_');
  }
}
