/** Install snippets live in the core (one rule for the console and the MCP endpoint); the console reads them from there. */
export { installSnippets as snippets } from '../../src/core/packages/install-snippets.js';

/** SKILL.md's front matter, shown as it reads in the file (strings plain, maps and lists as JSON). */
export const frontMatter = (manifest: Record<string, unknown>): string =>
  ['---', ...Object.entries(manifest).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`), '---'].join('\n');
