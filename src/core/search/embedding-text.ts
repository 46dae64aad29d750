import { createHash } from 'node:crypto';
import type { EmbeddingJob } from './package-vectors.js';

/** The most characters of a package's text that are embedded (about 2,000 tokens: within every common model's input). */
export const EMBEDDING_TEXT_MAX = 8000;

/**
 * The text a package's vector is made from: its name, description, tags and README (for a skill
 * without a README, its SKILL.md body: what the package's `readme` holds), cut at EMBEDDING_TEXT_MAX.
 * Empty when nothing is published.
 */
export const embeddingText = (p: Pick<EmbeddingJob, 'scope' | 'name' | 'description' | 'readme' | 'tags' | 'latestVersion'>): string => {
  if (p.latestVersion === null) return '';
  const parts = [`${p.name.replace(/[-_]+/g, ' ')} (@${p.scope}/${p.name})`, p.description ?? '', p.tags.length > 0 ? `Tags: ${p.tags.join(', ')}` : '', p.readme ?? ''];
  return parts
    .filter((s) => s.trim() !== '')
    .join('\n\n')
    .slice(0, EMBEDDING_TEXT_MAX);
};

export const textSha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
