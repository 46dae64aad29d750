import { stringify } from 'yaml';
import type { RequestContext } from '../auth/principal.js';
import { badRequest, unauthorized, unprocessable } from '../errors.js';
import { AGENT_DESCRIPTION_MAX, AGENT_NAME_MAX, AGENT_NAME_PATTERN } from '../packages/manifest/agent-yaml.js';
import type { PackageService } from '../packages/package-service.js';
import type { PublishResult } from '../packages/package-publisher.js';
import { isStrictSemver } from '../packages/version-scheme.js';
import { agentCardProblems } from './remote-card.js';
import type { AgentCardSource } from './card-source.js';

/** What `POST /api/v1/a2a/imports` takes: a card, or the URL to fetch it from; where to publish it. */
export interface A2aImportInput {
  url?: string;
  card?: unknown;
  /** Default: the caller's own scope (the account's name). */
  scope?: string;
  /** Default: the card's name, lower-cased, other characters than letters and digits as '-'. */
  name?: string;
}

const TAGS_MAX = 10;
const TAG_MAX = 50;
const EXAMPLES_MAX = 20;

/** `Echo Agent (v2)` → `echo-agent-v2`. */
export const packageNameOf = (cardName: string): string =>
  cardName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, AGENT_NAME_MAX)
    .replace(/-+$/, '');

/**
 * The agent.yaml an A2A card is published as: the card's name, version, description, its skills'
 * tags and examples (as agent.yaml `examples`), and the card itself under `a2a.card` (with the URL it
 * was fetched from), from which every run reads where and how to call the agent. No credential is
 * ever part of it: the card names schemes, the caller's vaults hold the tokens.
 */
export const agentYamlOfCard = (card: Record<string, unknown>, scope: string, name: string, cardUrl?: string): string => {
  const skills = (card.skills as Array<{ tags?: string[]; examples?: string[] }>) ?? [];
  const tags = [...new Set(skills.flatMap((s) => s.tags ?? []).filter((t) => t.length > 0 && t.length <= TAG_MAX))].slice(0, TAGS_MAX);
  const examples = skills.flatMap((s) => s.examples ?? []).slice(0, EXAMPLES_MAX);
  const described = String(card.description).trim();
  const doc = {
    name,
    version: card.version,
    description: (described === '' ? `A2A agent ${String(card.name)}` : described).slice(0, AGENT_DESCRIPTION_MAX),
    author: `@${scope}`,
    ...(tags.length > 0 ? { tags } : {}),
    ...(examples.length > 0 ? { examples: examples.map((prompt) => ({ prompt })) } : {}),
    a2a: { ...(cardUrl ? { card_url: cardUrl } : {}), card },
  };
  return stringify(doc, { lineWidth: 0 });
};

/**
 * Importing a remote A2A agent (issue 20): its card (sent, or fetched by URL through the egress
 * policy) is checked against the A2A 0.3 schema and published as an agent package whose runs call
 * the remote agent (docs/a2a.md). The publish is an ordinary one: the scope's writers only, a version
 * once, the same checks.
 */
export class A2aImports {
  constructor(
    private readonly packages: PackageService,
    private readonly cards: AgentCardSource | undefined,
  ) {}

  async import(ctx: RequestContext, input: A2aImportInput): Promise<PublishResult> {
    if (!ctx.principal) throw unauthorized();
    if ((input.url === undefined) === (input.card === undefined)) throw badRequest('Send either url (where the agent card is) or card (the card itself), not both');
    let card: unknown = input.card;
    if (input.url !== undefined) {
      if (!/^https?:\/\//i.test(input.url)) throw unprocessable('Invalid agent card URL', ['url: must be an http(s) URL']);
      if (!this.cards) throw badRequest('This server cannot fetch agent cards');
      card = await this.cards.fetchCard(input.url);
    }
    const problems = agentCardProblems(card);
    if (problems.length > 0) throw unprocessable('Invalid A2A agent card', problems);
    const c = card as Record<string, unknown>;
    if (!isStrictSemver(c.version as string))
      throw unprocessable('Invalid A2A agent card', [`card.version: '${String(c.version).slice(0, 64)}' is not a semantic version (an agent package's version must be one, e.g. 1.0.0)`]);
    const scope = (input.scope ?? ctx.principal.account.name).replace(/^@/, '');
    const name = input.name ?? packageNameOf(c.name as string);
    if (!AGENT_NAME_PATTERN.test(name) || name.length > AGENT_NAME_MAX) {
      throw unprocessable('Invalid A2A agent card', [
        input.name !== undefined ? `name: must match ^[a-z0-9-]+$ (at most ${AGENT_NAME_MAX})` : `card.name: '${String(c.name).slice(0, 64)}' gives no package name: pass name`,
      ]);
    }
    return this.packages.publishManifest(ctx, 'agent', agentYamlOfCard(c, scope, name, input.url));
  }
}
