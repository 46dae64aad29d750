import type { ListPrice } from '../sessions/budget.js';
import type { ModelClientFactory, ModelEndpoint, ModelUsage } from '../sessions/model-port.js';
import { clip } from '../sessions/content-text.js';
import { parseVerdict } from './eval-spec.js';

/** What an LLM judge needs: a model card's endpoint (decrypted in the worker) and a client for it. */
export interface JudgeDeps {
  endpointFor(accountId: number, modelId: string): Promise<ModelEndpoint | undefined>;
  models: ModelClientFactory;
}

export interface JudgeRequest {
  accountId: number;
  /** The model card (its `model_id`) the judge runs on. */
  model: string;
  /** Everything the judge is to weigh: what was asked, the answer, the criteria. */
  prompt: string;
  /** A bare score at or above this passes (an explicit `pass` wins). */
  passThreshold: number;
}

/** A verdict or why there is none, with the request's usage and the card's list price (to count its cost). */
export type JudgeResult = ({ passed: boolean; score: number; reason: string } | { error: string }) & { usage: ModelUsage; listPrice?: ListPrice };

const JUDGE_SYSTEM =
  'You grade the answer of an AI agent against criteria. Reply with one JSON object and nothing else: ' + '{"pass": true or false, "score": a number from 0 to 1, "reason": "one or two sentences"}.';

export const NO_USAGE: ModelUsage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

/**
 * The LLM judge of evals' `llm_judge` verifier and of session outcomes: one request to a model card,
 * answered as a verdict (pass, score, reason) with the request's usage, or as the reason there is
 * none. An aborted `signal` rethrows (the caller stops); every other failure is an `error`.
 */
export const askJudge = async (deps: JudgeDeps, req: JudgeRequest, signal: AbortSignal): Promise<JudgeResult> => {
  const endpoint = await deps.endpointFor(req.accountId, req.model);
  if (!endpoint) return { error: `the judge's model card '${req.model}' does not exist (POST /v1/model_cards)`, usage: NO_USAGE };
  try {
    const answer = await deps
      .models(endpoint)
      .stream(
        { model: endpoint.model, system: JUDGE_SYSTEM, messages: [{ role: 'user', content: [{ type: 'text', text: req.prompt }] }], tools: [], maxTokens: 1024 },
        { onText: () => undefined },
        signal,
      );
    const text = answer.text.join('');
    const verdict = parseVerdict(text, req.passThreshold);
    if (!verdict) return { error: `the judge's answer gives no verdict: ${clip(text, 500)}`, usage: answer.usage, listPrice: endpoint.listPrice };
    return { ...verdict, usage: answer.usage, listPrice: endpoint.listPrice };
  } catch (e) {
    if (signal.aborted) throw e;
    return { error: `the judge could not be asked: ${e instanceof Error ? clip(e.message, 500) : 'unknown error'}`, usage: NO_USAGE };
  }
};
