import type { ModelClientFactory } from '../../core/sessions/model-port.js';
import type { EgressPolicy } from '../egress/index.js';
import { anthropicClient } from './anthropic-client.js';
import { openAiClient } from './openai-client.js';

/** The model clients of the runtime, each SDK given the egress policy's fetch. */
export const modelClients =
  (egress: EgressPolicy): ModelClientFactory =>
  (endpoint) =>
    endpoint.provider === 'ant' || endpoint.provider === 'ant-compatible' ? anthropicClient(endpoint, egress.fetch) : openAiClient(endpoint, egress.fetch);

export { anthropicBaseUrl } from './anthropic-client.js';
export { openAiBaseUrl } from './openai-client.js';
