import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { AGENT_CARD_SCHEMA } from './agent-card-schema.js';

/** The transports Agentry calls a remote A2A agent over (the SDK's JSON-RPC and HTTP+JSON clients). */
export const A2A_TRANSPORTS = ['JSONRPC', 'HTTP+JSON'] as const;
export type A2aTransport = (typeof A2A_TRANSPORTS)[number];

/** How the remote agent wants its caller to authenticate, as far as Agentry sends it: a token in a header. */
export type A2aCredentialUse = { scheme: string; header: 'authorization' } | { scheme: string; header: string; apiKey: true };

/** What a session needs to call a remote agent: where, how, and which credential the card asks for. */
export interface A2aRemote {
  name: string;
  url: string;
  transport: A2aTransport;
  streaming: boolean;
  /** Absent when the card asks for no authentication. */
  credential?: A2aCredentialUse;
}

let validator: ValidateFunction | undefined;
const compiled = (): ValidateFunction => {
  validator ??= new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false }).compile(AGENT_CARD_SCHEMA);
  return validator;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `/skills/0/id` → `skills[0].id`. */
const dotted = (pointer: string): string =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc === '' ? s : `${acc}.${s}`), '');

const sentence = (at: string, e: ErrorObject): string | undefined => {
  const where = [at, dotted(e.instancePath)].filter((s) => s !== '').join('.');
  switch (e.keyword) {
    case 'required':
      return `${where}.${String(e.params.missingProperty)}: missing required field`;
    case 'type':
      return `${where}: must be ${e.params.type === 'array' ? 'a list' : e.params.type === 'object' ? 'an object' : `a ${String(e.params.type)}`}`;
    case 'enum':
      return `${where}: must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'minLength':
      return `${where}: must not be empty`;
    case 'if':
      return undefined;
    default:
      return `${where}: ${e.message ?? 'is not valid'}`;
  }
};

const absoluteHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

/**
 * Checks an A2A 0.3 agent card against the protocol's schema and against what Agentry can call:
 * every problem at once, each naming its field under `at` (`card.skills[0].id: missing required
 * field`). Pure: the import route and the agent.yaml validator both use it.
 */
export const agentCardProblems = (card: unknown, at = 'card'): string[] => {
  if (!isObject(card)) return [`${at}: must be an object (an A2A agent card)`];
  const validate = compiled();
  if (!validate(card)) {
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      const s = sentence(at, e);
      if (s) seen.add(s);
    }
    return [...seen];
  }
  const problems: string[] = [];
  if (!absoluteHttpUrl(card.url as string)) problems.push(`${at}.url: must be an http(s) URL`);
  for (const [i, itf] of ((card.additionalInterfaces as Array<Record<string, unknown>> | undefined) ?? []).entries()) {
    if (!absoluteHttpUrl(itf.url as string) && (A2A_TRANSPORTS as readonly string[]).includes(itf.transport as string)) problems.push(`${at}.additionalInterfaces[${i}].url: must be an http(s) URL`);
  }
  if (problems.length > 0) return problems;
  try {
    remoteOf(card, at);
  } catch (e) {
    if (e instanceof CardProblem) return [e.message];
    throw e;
  }
  return [];
};

class CardProblem extends Error {}

/**
 * What a session calls, from a card that passed {@link agentCardProblems}: the card's own `url` when its
 * preferred transport (JSONRPC by default) is one Agentry speaks, else the first additional interface
 * that is; the credential the first satisfiable `security` requirement asks for.
 */
export const remoteOf = (card: Record<string, unknown>, at = 'card'): A2aRemote => {
  const preferred = (card.preferredTransport as string | undefined) ?? 'JSONRPC';
  const interfaces = [{ transport: preferred, url: card.url as string }, ...((card.additionalInterfaces as Array<{ transport: string; url: string }> | undefined) ?? [])];
  const usable = interfaces.find((i) => (A2A_TRANSPORTS as readonly string[]).includes(i.transport));
  if (!usable)
    throw new CardProblem(`${at}.preferredTransport: Agentry calls A2A agents over ${A2A_TRANSPORTS.join(' or ')}; the card offers ${[...new Set(interfaces.map((i) => i.transport))].join(', ')}`);
  const capabilities = (card.capabilities as Record<string, unknown> | undefined) ?? {};
  return {
    name: card.name as string,
    url: usable.url,
    transport: usable.transport as A2aTransport,
    streaming: capabilities.streaming === true,
    ...credentialOf(card, at),
  };
};

const credentialOf = (card: Record<string, unknown>, at: string): { credential?: A2aCredentialUse } => {
  const requirements = (card.security as Array<Record<string, string[]>> | undefined) ?? [];
  if (requirements.length === 0) return {};
  const schemes = (card.securitySchemes as Record<string, Record<string, unknown>> | undefined) ?? {};
  const usable = (name: string): A2aCredentialUse | undefined => {
    const s = schemes[name];
    if (!s) return undefined;
    if (s.type === 'http' && String(s.scheme).toLowerCase() === 'bearer') return { scheme: name, header: 'authorization' };
    // An OAuth 2 or OpenID Connect access token is sent as a bearer token too (obtained outside Agentry).
    if (s.type === 'oauth2' || s.type === 'openIdConnect') return { scheme: name, header: 'authorization' };
    if (s.type === 'apiKey' && s.in === 'header') return { scheme: name, header: String(s.name).toLowerCase(), apiKey: true };
    return undefined;
  };
  for (const [i, req] of requirements.entries()) {
    const names = Object.keys(req);
    // An empty requirement means "no authentication" is one of the choices.
    if (names.length === 0) return {};
    for (const n of names) if (!schemes[n]) throw new CardProblem(`${at}.security[${i}]: names scheme '${n.slice(0, 64)}', which securitySchemes does not define`);
    if (names.length === 1) {
      const use = usable(names[0]);
      if (use) return { credential: use };
    }
  }
  throw new CardProblem(`${at}.security: Agentry sends one bearer token or one API key in a header; the card asks for ${requirements.map((r) => Object.keys(r).join(' + ')).join(' or ')}`);
};
