import { AgentryError } from '../errors.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import type { ModelUsage } from './model-port.js';

/**
 * Session budgets (the SDK's `BetaManagedAgentsBudgetLimit`): a hard ceiling on the list cost a
 * session accrues, `{type: "limit", max_list_cost: {amount, currency: "USD"}}`, amounts in minor
 * units (cents) as integer strings. The list price of the agent's model comes from its model card
 * (`list_price`, per million tokens); a model without one cannot be budgeted.
 */
export interface Budget {
  type: 'limit';
  max_list_cost: { amount: string; currency: 'USD' };
}

/** A model card's list price: cents per million tokens (integer strings), by kind of token. */
export interface ListPrice {
  currency: 'USD';
  input_per_mtok: string;
  output_per_mtok: string;
  cache_read_per_mtok: string;
  cache_write_per_mtok: string;
}

const AMOUNT = /^(0|[1-9][0-9]{0,14})$/;

/** A 400 the SDK reads as `errorCode` (`details.error_code`). */
export const budgetError = (code: 'model_not_budgetable' | 'budget_create_only' | 'budget_not_raised' | 'invalid_budget', message: string): AgentryError =>
  new AgentryError('bad_request', message, [], { details: { error_code: code } });

export const checkBudget = (raw: unknown, at = 'budget'): Budget => {
  if (!isPlainObject(raw) || raw.type !== 'limit') throw budgetError('invalid_budget', `${at}.type must be 'limit'`);
  const m = raw.max_list_cost;
  if (!isPlainObject(m) || typeof m.amount !== 'string' || !AMOUNT.test(m.amount)) {
    throw budgetError('invalid_budget', `${at}.max_list_cost.amount must be a whole number of cents as a string ("2500" is $25.00)`);
  }
  if (m.currency !== 'USD') throw budgetError('invalid_budget', `${at}.max_list_cost.currency must be 'USD'`);
  return { type: 'limit', max_list_cost: { amount: m.amount, currency: 'USD' } };
};

/** A card's list price from input: input and output required, cache prices default to the input price. */
export const checkListPrice = (raw: unknown): ListPrice => {
  const problem = (f: string) => budgetError('invalid_budget', `list_price.${f} must be a whole number of cents per million tokens, as a string`);
  if (!isPlainObject(raw)) throw budgetError('invalid_budget', 'list_price must be an object');
  if (raw.currency !== undefined && raw.currency !== 'USD') throw budgetError('invalid_budget', "list_price.currency must be 'USD'");
  const field = (f: string, fallback?: string): string => {
    const v = raw[f] ?? fallback;
    if (typeof v !== 'string' || !AMOUNT.test(v)) throw problem(f);
    return v;
  };
  const input = field('input_per_mtok');
  return {
    currency: 'USD',
    input_per_mtok: input,
    output_per_mtok: field('output_per_mtok'),
    cache_read_per_mtok: field('cache_read_per_mtok', input),
    cache_write_per_mtok: field('cache_write_per_mtok', input),
  };
};

/** The list cost of one model answer in millionths of a cent (tokens × cents per million tokens). */
export const usageCostMicroCents = (u: ModelUsage, p: ListPrice): number =>
  u.input_tokens * Number(p.input_per_mtok) +
  u.output_tokens * Number(p.output_per_mtok) +
  u.cache_read_input_tokens * Number(p.cache_read_per_mtok) +
  u.cache_creation_input_tokens * Number(p.cache_write_per_mtok);

/** A list cost as the SDK shows it (`BetaMonetaryAmount`), rounded up to the cent. */
export const listCost = (microCents: number): { amount: string; currency: 'USD' } => ({ amount: String(Math.ceil(microCents / 1_000_000)), currency: 'USD' });

/** Whether a session that accrued `microCents` has reached its budget. */
export const budgetReached = (budget: Budget | null | undefined, microCents: number): boolean => !!budget && microCents >= Number(budget.max_list_cost.amount) * 1_000_000;

/**
 * A session's data with one model answer counted: its tokens summed into `usage`, and at the card's
 * list price (when it has one) its cost accrued (`list_cost_micro`, shown as `usage.list_cost`).
 */
export const accrueUsage = (data: Record<string, unknown>, u: ModelUsage, price: ListPrice | undefined): { usage: Record<string, unknown>; data: Record<string, unknown> } => {
  const before = (data.usage as Record<string, unknown>) ?? {};
  const spent = Number(data.list_cost_micro ?? 0) + (price ? usageCostMicroCents(u, price) : 0);
  const cc = (before.cache_creation as Record<string, number> | undefined) ?? { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 0 };
  const usage = {
    ...before,
    input_tokens: Number(before.input_tokens ?? 0) + u.input_tokens,
    output_tokens: Number(before.output_tokens ?? 0) + u.output_tokens,
    cache_read_input_tokens: Number(before.cache_read_input_tokens ?? 0) + u.cache_read_input_tokens,
    cache_creation: { ...cc, ephemeral_5m_input_tokens: Number(cc.ephemeral_5m_input_tokens ?? 0) + u.cache_creation_input_tokens },
    ...(price || before.list_cost ? { list_cost: listCost(spent) } : {}),
  };
  return { usage, data: { ...data, usage, list_cost_micro: spent } };
};
