/**
 * The A2A 0.3 `AgentCard` as a JSON Schema: the protocol's own definitions (specification/json/a2a.json
 * of A2A 0.3, from which `@a2a-js/sdk@0.3.14` generates its `AgentCard` type), restricted to what a card
 * states about itself. Unknown properties are allowed, as the protocol allows them; every property the
 * protocol defines is checked for its type, and the required ones must be there.
 */
const str = { type: 'string' } as const;
const strList = { type: 'array', items: str } as const;
const securityRequirements = { type: 'array', items: { type: 'object', additionalProperties: strList } } as const;

const extension = {
  type: 'object',
  required: ['uri'],
  properties: { uri: str, description: str, required: { type: 'boolean' }, params: { type: 'object' } },
} as const;

const securityScheme = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['apiKey', 'http', 'oauth2', 'openIdConnect', 'mutualTLS'] },
    description: str,
    in: { enum: ['cookie', 'header', 'query'] },
    name: str,
    scheme: str,
    bearerFormat: str,
    flows: { type: 'object' },
    oauth2MetadataUrl: str,
    openIdConnectUrl: str,
  },
  allOf: [
    { if: { properties: { type: { const: 'apiKey' } } }, then: { required: ['in', 'name'] } },
    { if: { properties: { type: { const: 'http' } } }, then: { required: ['scheme'] } },
    { if: { properties: { type: { const: 'oauth2' } } }, then: { required: ['flows'] } },
    { if: { properties: { type: { const: 'openIdConnect' } } }, then: { required: ['openIdConnectUrl'] } },
  ],
} as const;

const skill = {
  type: 'object',
  required: ['id', 'name', 'description', 'tags'],
  properties: {
    id: str,
    name: str,
    description: str,
    tags: strList,
    examples: strList,
    inputModes: strList,
    outputModes: strList,
    security: securityRequirements,
  },
} as const;

export const AGENT_CARD_SCHEMA = {
  $id: 'https://agentry.dev/schemas/a2a-0.3/agent-card.json',
  type: 'object',
  required: ['name', 'description', 'url', 'version', 'protocolVersion', 'capabilities', 'defaultInputModes', 'defaultOutputModes', 'skills'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: str,
    url: { type: 'string', minLength: 1 },
    version: { type: 'string', minLength: 1 },
    protocolVersion: { type: 'string', minLength: 1 },
    preferredTransport: str,
    additionalInterfaces: { type: 'array', items: { type: 'object', required: ['transport', 'url'], properties: { transport: str, url: str } } },
    capabilities: {
      type: 'object',
      properties: { streaming: { type: 'boolean' }, pushNotifications: { type: 'boolean' }, stateTransitionHistory: { type: 'boolean' }, extensions: { type: 'array', items: extension } },
    },
    defaultInputModes: strList,
    defaultOutputModes: strList,
    skills: { type: 'array', items: skill },
    provider: { type: 'object', required: ['organization', 'url'], properties: { organization: str, url: str } },
    documentationUrl: str,
    iconUrl: str,
    security: securityRequirements,
    securitySchemes: { type: 'object', additionalProperties: securityScheme },
    signatures: { type: 'array', items: { type: 'object', required: ['protected', 'signature'], properties: { protected: str, signature: str, header: { type: 'object' } } } },
    supportsAuthenticatedExtendedCard: { type: 'boolean' },
  },
} as const;
