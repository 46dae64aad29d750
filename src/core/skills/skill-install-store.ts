/** One account's install of a skill into MCP clients' skills folders (ToolHive's InstalledSkill). */
export interface SkillInstallRecord {
  accountId: number;
  /** SKILL.md's name: the folder name below each client's skills folder. */
  name: string;
  /** Always `user` here: project installs are not offered. */
  scope: 'user';
  reference: string;
  /** The version installed. */
  tag: string;
  digest: string;
  /** Client ids the skill was written for, in the order asked. */
  clients: string[];
  group: string;
  description: string;
  author: string;
  tags: string[];
  installedAt: string;
}

/**
 * The port for skill installs (implemented in src/storage/sql/skill-install-store.ts). Installs are
 * per account: `(accountId, name)` is unique. The folders themselves are written by {@link SkillFolders}.
 */
export interface SkillInstallStore {
  /** One account's installs, by name. */
  list(accountId: number): Promise<SkillInstallRecord[]>;
  get(accountId: number, name: string): Promise<SkillInstallRecord | undefined>;
  /** Every account's install of this name (folders are shared by the server's clients home). */
  byName(name: string): Promise<SkillInstallRecord[]>;
  /** Creates or replaces the account's install of `name`. */
  put(record: SkillInstallRecord): Promise<void>;
  /** False when there was none. */
  delete(accountId: number, name: string): Promise<boolean>;
}

/**
 * The port for the skills folders of MCP clients (src/adapters/skill-folders/skill-folder-writer.ts),
 * below the clients home. Paths are segments below that home; the adapter refuses any that is not
 * a plain name. Writes are atomic: the new folder is written beside the old one and renamed over it.
 */
export interface SkillFolders {
  /** Whether a file, folder or link exists at these segments. */
  exists(path: string[]): Promise<boolean>;
  /** Writes the files as the folder at `path`, replacing whatever was there. */
  write(path: string[], files: ReadonlyArray<{ path: string; bytes: Buffer; executable: boolean }>): Promise<void>;
  /** Removes the folder; false when it was not there. */
  remove(path: string[]): Promise<boolean>;
}
