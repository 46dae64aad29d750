/** 000's example agent (its POST /registry/agent body). */
export const exampleAgent = (id = 'my-agent', extra: Record<string, unknown> = {}) => ({
  assistant_id: id,
  nickname: 'Helper',
  description: 'A helpful assistant.',
  response: {
    provider_id: 'alquimia',
    config: { provider_id: 'generative', connector: { provider_id: 'openai', model: 'gpt-4o-mini', api_key: { $secretRef: 'OPENAI_API_KEY' } } },
    profile: { system_prompt: 'You are a helpful assistant.', evaluation_strategy: { evaluation_strategy_id: 'one-shoot' } },
  },
  ...extra,
});
