import { createHash } from 'node:crypto';
import { badRequest } from '../errors.js';
import type { AgentInput } from '../managed/agents/agent-config.js';
import type { ModelProvider } from '../managed/model-cards/capability-probe.js';
import { isPlainObject } from './shape.js';

/**
 * An Alquimia AssistantConfig (000) as a managed agent (issue 19): the mapping, field by field,
 * of a *resolved* config (secret references replaced by their values, `{{ params.key }}`
 * rendered in the system prompt, as `AgentspaceAgents.resolveForRun` gives it) onto a managed
 * agent's configuration and the model card its connector names. What the runtime cannot do is
 * refused with the field's path, never dropped. docs/run.md ("Agentspace agents") lists it.
 */
export interface RunnableAssistant {
  /** The managed agent's configuration (the model card is named by `card.modelId`). */
  agent: AgentInput & { name: string; model: string };
  /** The loop's settings from `evaluation_strategy`: `max_steps` caps the model requests of a turn. */
  loop: { maxStepsPerTurn?: number };
  /** The model card the connector maps to; the key stays in the server. */
  card: { modelId: string; provider: ModelProvider; model: string; baseUrl: string | null; apiKey: string; headers: Record<string, string> };
}

type Obj = Record<string, unknown>;

/** Whether a field carries nothing (absent, null, an empty list or object). */
const empty = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);

const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});

/** The model card's `model_id` for an agentspace agent's connector (one per agentspace agent; a digest when the ids are too long for a model_id). */
export const connectorModelId = (agentspaceId: string, assistantId: string): string => {
  const id = `agentspace:${agentspaceId}:${assistantId}`;
  return id.length <= 128 ? id : `agentspace:${createHash('sha256').update(id).digest('hex')}`;
};

const PROVIDERS: Record<string, { plain: ModelProvider; withBaseUrl: ModelProvider }> = {
  openai: { plain: 'oai', withBaseUrl: 'oai-compatible' },
  anthropic: { plain: 'ant', withBaseUrl: 'ant-compatible' },
};

/** Maps a resolved AssistantConfig; throws 400 naming every field the runtime cannot express. */
export const runnableAssistant = (agentspaceId: string, assistantId: string, spec: Obj): RunnableAssistant => {
  const refused: string[] = [];
  const refuse = (path: string, why: string): void => void refused.push(`${path}: ${why}`);
  const response = obj(spec.response);
  const profile = obj(response.profile);
  const connector = obj(obj(response.config).connector);

  for (const f of ['channels', 'shields', 'empathy'] as const) if (!empty(spec[f])) refuse(f, 'sessions have no channels, shields or empathy engine');
  for (const f of ['prompt_clauses', 'knowledge_base', 'runtime_context', 'short_term_memory_strategy', 'long_term_memory_strategy'] as const) {
    if (!empty(profile[f])) refuse(`response.profile.${f}`, 'not supported by the session runtime');
  }
  if (!empty(profile.tools)) refuse('response.profile.tools', 'tools of agentspace agents are not mapped yet');

  const strategy = obj(profile.evaluation_strategy);
  const sid = strategy.evaluation_strategy_id;
  if (sid === 'raw') refuse('response.profile.evaluation_strategy', "'raw' has no equivalent in the session loop");
  // max_steps caps the turn's model requests (the loop's limit, for this agent); max_concurrent_tools
  // (at least 1) holds as the loop runs one tool call at a time; 'none' holds as the agent has no tools.
  if (!empty(strategy.decorators)) refuse('response.profile.evaluation_strategy.decorators', 'the session loop has no plan tools or other decorators');
  const choice = strategy.tool_choice;
  if (choice !== undefined && choice !== 'auto' && choice !== 'none') refuse('response.profile.evaluation_strategy.tool_choice', "only 'auto' and 'none' can hold: the agent has no tools to require");
  const maxSteps = typeof strategy.max_steps === 'number' ? strategy.max_steps : undefined;

  for (const f of ['temperature', 'top_p', 'max_tokens'] as const) {
    if (!empty(connector[f])) refuse(`response.config.connector.${f}`, 'the session runtime sends no per-agent sampling settings');
  }
  const providerId = String(connector.provider_id ?? '');
  const baseUrl = typeof connector.base_url === 'string' && connector.base_url !== '' ? connector.base_url : null;
  const provider = PROVIDERS[providerId];
  if (!provider && !baseUrl) refuse('response.config.connector.provider_id', `'${providerId}' is not a known provider: give base_url (an OpenAI-compatible endpoint)`);
  const apiKey = typeof connector.api_key === 'string' ? connector.api_key : '';
  if (apiKey === '') refuse('response.config.connector.api_key', 'a model card needs a key');
  const headers = Object.fromEntries(Object.entries(obj(connector.extra_headers)).map(([k, v]) => [k, String(v)]));

  if (typeof spec.description === 'string' && spec.description.length > 2048) refuse('description', "longer than a managed agent's 2048 characters");
  const tags = Array.isArray(spec.tags) ? (spec.tags as unknown[]).map(String) : [];
  if (tags.join(',').length > 512) refuse('tags', 'longer than 512 characters once joined (a metadata value)');
  if (refused.length > 0) throw badRequest(`Agent '${assistantId}' of agentspace '${agentspaceId}' uses fields a session cannot run`, refused);

  const modelId = connectorModelId(agentspaceId, assistantId);
  return {
    agent: {
      name: typeof spec.nickname === 'string' && spec.nickname !== '' ? spec.nickname : assistantId,
      description: typeof spec.description === 'string' ? spec.description : null,
      model: modelId,
      system: typeof profile.system_prompt === 'string' ? profile.system_prompt : null,
      metadata: { 'agentry.source': `agentspace:${agentspaceId}/${assistantId}`, ...(tags.length > 0 ? { 'alquimia.tags': tags.join(',') } : {}) },
    },
    loop: maxSteps === undefined ? {} : { maxStepsPerTurn: maxSteps },
    card: {
      modelId,
      provider: provider ? (baseUrl ? provider.withBaseUrl : provider.plain) : 'oai-compatible',
      model: String(connector.model),
      baseUrl,
      apiKey,
      headers,
    },
  };
};
