import type { ManagedDeps } from '../managed/managed-deps.js';
import type { ManagedObjectRecord } from '../managed/managed-storage.js';

const namespaceOf = (id: string): string => `integrations/${id}`;

/** An integration's credentials: in the secret store of its owner, under the integration's namespace (never in its record). */
export class IntegrationCredentials {
  constructor(private readonly secrets: ManagedDeps['secrets']) {}

  put(owner: string, id: string, name: string, value: string): Promise<void> {
    return this.secrets.put(owner, namespaceOf(id), name, value);
  }

  /** The credentials the record names, as stored. */
  async read(owner: string, o: ManagedObjectRecord): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const k of (o.data.credentials as string[]) ?? []) {
      const v = await this.secrets.get(owner, namespaceOf(o.id), k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  /** Every credential of the integration leaves the secret store. */
  async deleteAll(owner: string, id: string): Promise<void> {
    for (const key of await this.secrets.list(owner, namespaceOf(id))) await this.secrets.delete(owner, namespaceOf(id), key);
  }
}
