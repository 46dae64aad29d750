export type ModelProvider = 'ant' | 'ant-compatible' | 'oai' | 'oai-compatible';
export const MODEL_PROVIDERS: readonly ModelProvider[] = ['ant', 'ant-compatible', 'oai', 'oai-compatible'];

export const DEFAULT_BASE_URL: Partial<Record<ModelProvider, string>> = { ant: 'https://api.anthropic.com', oai: 'https://api.openai.com/v1' };

export interface ProbeTarget {
  provider: ModelProvider;
  baseUrl: string;
  model: string;
  apiKey: string;
  headers: Record<string, string>;
}

export interface ProbeResult {
  checkedAt: string;
  /** How many models the endpoint listed. */
  modelsListed: number;
}

/** Checks a model card's endpoint, key and model before the card is saved (an adapter does the HTTP). */
export type CapabilityProbe = (target: ProbeTarget) => Promise<ProbeResult>;
