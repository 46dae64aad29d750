import { arr, int, isPlainObject, literal, nullable, num, obj, openObject, opt, record, req, str, tagged, type Shape, either } from './shape.js';

/**
 * Alquimia's AssistantConfig (000 and its notes), every model strict: an unknown field is an
 * error. Where no public document shows a model's fields (shields, empathy, knowledge bases,
 * runtime context, slack/email channels, a2a tools) any object is taken and kept as sent.
 */
export const ASSISTANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const SECRET_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** `{"$secretRef": "NAME"}`: where a string is expected, a reference to a secret resolved at inference time. */
export const secretRef = (): Shape => ({
  check(v, path, errors) {
    if (!isPlainObject(v)) return void errors.push(`${path}: must be an object`);
    const keys = Object.keys(v);
    if (keys.length !== 1 || keys[0] !== '$secretRef') return void errors.push(`${path}: a secret reference is exactly {"$secretRef": "NAME"}`);
    const name = v.$secretRef;
    if (typeof name !== 'string' || !SECRET_KEY.test(name)) errors.push(`${path}.$secretRef: must be a secret key (letters, digits, '_', '.', '-', starting with a letter or '_')`);
  },
  schema: () => ({ type: 'object', properties: { $secretRef: { type: 'string', pattern: SECRET_KEY.source } }, required: ['$secretRef'], additionalProperties: false }),
});

/** A string or a secret reference (Alquimia's `str | SecretRef` and `SecretStr`). */
const secretString = (): Shape => {
  const ref = secretRef();
  return {
    check(v, path, errors) {
      if (typeof v === 'string') return;
      if (isPlainObject(v)) return ref.check(v, path, errors);
      errors.push(`${path}: must be a string or {"$secretRef": "NAME"}`);
    },
    schema: () => ({ anyOf: [{ type: 'string' }, ref.schema()] }),
  };
};

const connector = obj(
  {
    provider_id: req(str({ min: 1, max: 64, description: "The LLM connector, e.g. 'openai' (every connector speaks an OpenAI-compatible interface)" })),
    model: req(str({ min: 1, max: 256 })),
    api_key: opt(nullable(secretString())),
    base_url: opt(nullable(secretString())),
    temperature: opt(nullable(num({ min: 0, max: 2 }))),
    top_p: opt(nullable(num({ min: 0, max: 1 }))),
    max_tokens: opt(nullable(int({ min: 1 }))),
    extra_headers: opt(nullable(record(secretString()))),
  },
  { description: "LLM connector (fields beyond provider_id/model/api_key are Agentry's reading of the OpenAI-compatible connectors)" },
);

const toolChoice = either(
  "'auto', 'required', 'none', an allowed-tools object or a list of forced tools",
  str({ enum: ['auto', 'required', 'none'] }),
  openObject('ToolChoiceAllowedTools'),
  arr(openObject('ToolChoiceForcedTool')),
);

const evaluationStrategy = tagged('evaluation_strategy_id', {
  'one-shoot': obj({ evaluation_strategy_id: req(literal('one-shoot')) }),
  native: obj({
    evaluation_strategy_id: req(literal('native')),
    max_steps: opt(int({ min: 1, max: 10_000 })),
    max_concurrent_tools: opt(int({ min: 1, max: 1000 })),
    tool_choice: opt(toolChoice),
    decorators: opt(nullable(arr(openObject('Evaluation decorator')))),
  }),
  raw: obj({
    evaluation_strategy_id: req(literal('raw')),
    max_steps: opt(int({ min: 1, max: 10_000 })),
    max_concurrent_tools: opt(int({ min: 1, max: 1000 })),
  }),
});

const shortTermMemory = tagged('memory_strategy_id', {
  max_tokens: obj({
    memory_strategy_id: req(literal('max_tokens')),
    memory_max_tokens: opt(int({ min: -1 })),
    conditions: opt(arr(str())),
  }),
});

const longTermTriggers = {
  input_tokens_threshold: opt(int({ min: 0 })),
  interaction_keep: opt(int({ min: 0 })),
  interaction_conditions: opt(arr(str())),
  interaction_threshold_qty: opt(int({ min: 0 })),
  interaction_threshold_tokens: opt(int({ min: 0 })),
  on_tools_success_threshold: opt(arr(str())),
  on_tools_error_threshold: opt(arr(str())),
};
const longTermMemory = tagged('long_term_memory_id', {
  summarizer: obj({
    long_term_memory_id: req(literal('summarizer')),
    ...longTermTriggers,
    cod_max_loops: opt(int({ min: 1 })),
    knowledge_base: opt(nullable(openObject('KnowledgeBases'))),
    instructions: opt(nullable(str())),
    text_splitter: opt(openObject('TextSplitterConfig')),
  }),
  erase: obj({ long_term_memory_id: req(literal('erase')), ...longTermTriggers }),
});

const humanApproval = str({ enum: ['NONE', 'LAZY', 'REQUIRED'] });
const tool = tagged('provider_id', {
  mcp: obj({
    provider_id: req(literal('mcp')),
    name: opt(str({ min: 1, max: 128 })),
    url: opt(nullable(secretString())),
    auth: opt(nullable(secretString())),
    command: opt(nullable(str())),
    args: opt(nullable(arr(secretString()))),
    env: opt(nullable(record(secretString()))),
    headers: opt(nullable(record(secretString()))),
    transport: opt(str({ enum: ['http', 'stdio'] })),
    human_approval: opt(humanApproval),
  }),
  'llama-stack': obj({
    provider_id: req(literal('llama-stack')),
    tool_group_id: req(str({ min: 1 })),
    authorization: opt(nullable(secretString())),
    extra_headers: opt(nullable(record(secretString()))),
  }),
  a2a: {
    check(v, path, errors) {
      openObject('A2AConfig').check(v, path, errors);
    },
    schema: () => ({
      type: 'object',
      properties: { provider_id: { const: 'a2a' } },
      required: ['provider_id'],
      additionalProperties: true,
      description: 'A2AConfig: other registry agents as tools (fields not documented publicly)',
    }),
  },
});

const channel = tagged('provider_id', {
  whatsapp: obj({
    provider_id: req(literal('whatsapp')),
    channel_id: req(str({ min: 1, max: 128, pattern: /^[A-Za-z0-9._-]+$/ })),
    template: opt(nullable(str())),
    whatsapp_assistant_phone_number_id: req(secretString()),
    whatsapp_verify_token: req(secretString()),
    whatsapp_access_token: req(secretString()),
    whatsapp_api_base_url: opt(secretString()),
  }),
  slack: openChannel('slack'),
  email: openChannel('email'),
});

function openChannel(id: string): Shape {
  return {
    check(v, path, errors) {
      if (!isPlainObject(v)) return void errors.push(`${path}: must be an object`);
      if (typeof v.channel_id !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(v.channel_id)) errors.push(`${path}.channel_id: field required (letters, digits, '.', '_', '-')`);
    },
    schema: () => ({ type: 'object', properties: { provider_id: { const: id }, channel_id: { type: 'string' } }, required: ['provider_id', 'channel_id'], additionalProperties: true }),
  };
}

const profile = obj({
  system_prompt: opt(nullable(str({ max: 200_000, description: "Jinja2 template; Agentry's resolve renders {{ params.<key> }}" }))),
  prompt_clauses: opt(nullable(record(str()))),
  knowledge_base: opt(nullable(arr(openObject('KnowledgeBases')))),
  runtime_context: opt(openObject('RuntimeContext')),
  short_term_memory_strategy: opt(nullable(arr(shortTermMemory))),
  long_term_memory_strategy: opt(nullable(arr(longTermMemory))),
  evaluation_strategy: opt(evaluationStrategy),
  tools: opt(nullable(arr(tool))),
  persistence_strategy: opt(str({ enum: ['INCREMENTAL'] })),
});

const response = obj({
  provider_id: req(literal('alquimia')),
  config: req(obj({ provider_id: req(literal('generative')), connector: req(connector) })),
  profile: opt(profile),
});

/** The whole AssistantConfig. */
export const assistantConfigShape = obj({
  assistant_id: req(str({ min: 1, max: 128, pattern: ASSISTANT_ID })),
  nickname: opt(nullable(str({ max: 64 }))),
  description: opt(nullable(str({ max: 3000 }))),
  tags: opt(nullable(arr(str({ max: 64 }), { max: 50 }))),
  channels: opt(nullable(arr(channel))),
  shields: opt(nullable(record(openObject('Shield')))),
  empathy: opt(nullable(openObject('EmpathyEngine'))),
  response: req(response),
});

/** Every problem with an agent spec, with its path; empty when the spec is valid. */
export const assistantConfigErrors = (spec: unknown): string[] => {
  const errors: string[] = [];
  assistantConfigShape.check(spec, '', errors);
  if (isPlainObject(spec) && Array.isArray(spec.channels)) {
    const seen = new Set<string>();
    spec.channels.forEach((c, i) => {
      const id = isPlainObject(c) ? c.channel_id : undefined;
      if (typeof id === 'string') {
        if (seen.has(id)) errors.push(`channels[${i}].channel_id: '${id}' is used by another channel of this agent`);
        seen.add(id);
      }
    });
  }
  return errors;
};

/** Every `{"$secretRef": NAME}` in a spec, in order of first appearance. */
export const secretRefsIn = (spec: unknown): string[] => {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!isPlainObject(v)) return;
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$secretRef' && typeof v.$secretRef === 'string') return void out.add(v.$secretRef);
    Object.values(v).forEach(walk);
  };
  walk(spec);
  return [...out];
};

/** A copy of `spec` with every secret reference replaced by `value(NAME)`. */
export const replaceSecretRefs = (spec: unknown, value: (name: string) => string): unknown => {
  if (Array.isArray(spec)) return spec.map((x) => replaceSecretRefs(x, value));
  if (!isPlainObject(spec)) return spec;
  const keys = Object.keys(spec);
  if (keys.length === 1 && keys[0] === '$secretRef' && typeof spec.$secretRef === 'string') return value(spec.$secretRef);
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, replaceSecretRefs(v, value)]));
};
