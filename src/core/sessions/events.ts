import { badRequest } from '../errors.js';
import { newManagedId } from '../managed/ids.js';
import { isPlainObject } from '../packages/manifest/fields.js';
import { defineOutcomeEvent } from './outcomes/outcome-spec.js';

/** Every event type of Anthropic's session event union (SDK 1.12): the default stream carries these only. */
export const SPEC_EVENT_TYPES: ReadonlySet<string> = new Set([
  'user.message',
  'user.interrupt',
  'user.tool_confirmation',
  'user.custom_tool_result',
  'agent.custom_tool_use',
  'agent.message',
  'agent.thinking',
  'agent.mcp_tool_use',
  'agent.mcp_tool_result',
  'agent.tool_use',
  'agent.tool_result',
  'agent.thread_message_received',
  'agent.thread_message_sent',
  'agent.thread_context_compacted',
  'session.error',
  'session.status_rescheduled',
  'session.status_running',
  'session.status_idle',
  'session.status_terminated',
  'session.thread_created',
  'span.outcome_evaluation_start',
  'span.outcome_evaluation_end',
  'span.model_request_start',
  'span.model_request_end',
  'span.outcome_evaluation_ongoing',
  'user.define_outcome',
  'session.deleted',
  'session.thread_status_running',
  'session.thread_status_idle',
  'session.thread_status_terminated',
  'user.tool_result',
  'session.thread_status_rescheduled',
  'session.updated',
  'event_start',
  'event_delta',
  'system.message',
  'session.usage',
  'workflow_run.created',
  'workflow_run.status_ended',
  'workflow_run.phase_started',
  'workflow_run.phase_ended',
  'workflow_run.status_running',
  'workflow_run.status_idle',
  'workflow_run.error',
]);

/** What a client may send (POST /v1/sessions/:id/events). */
export const CLIENT_EVENT_TYPES = ['user.message', 'user.interrupt', 'user.tool_confirmation', 'user.custom_tool_result', 'user.tool_result', 'user.define_outcome', 'system.message'] as const;
export type ClientEventType = (typeof CLIENT_EVENT_TYPES)[number];

export type SessionEvent = Record<string, unknown> & { id: string; type: string };

export const newEventId = (): string => newManagedId('sevt');

/** The largest text of one event a client sends (all its blocks together), in characters. */
export const MAX_EVENT_TEXT = 1_000_000;

const CONTENT_TYPES: Record<string, ReadonlySet<string>> = {
  'user.message': new Set(['text', 'image', 'document']),
  'system.message': new Set(['text']),
  result: new Set(['text', 'image', 'document', 'search_result']),
};

const content = (value: unknown, at: string, allowed: ReadonlySet<string>, required: boolean): Array<Record<string, unknown>> => {
  if (value === undefined && !required) return [];
  if (typeof value === 'string') return value === '' ? [] : [{ type: 'text', text: value }];
  if (!Array.isArray(value)) throw badRequest(`${at}.content must be a list of content blocks`);
  if (required && value.length === 0) throw badRequest(`${at}.content must not be empty`);
  return value.map((b, i) => {
    if (!isPlainObject(b) || typeof b.type !== 'string') throw badRequest(`${at}.content[${i}] must be a content block with a type`);
    if (!allowed.has(b.type)) throw badRequest(`${at}.content[${i}].type must be one of ${[...allowed].join(', ')}`);
    if (b.type === 'text' && typeof b.text !== 'string') throw badRequest(`${at}.content[${i}].text must be a string`);
    if ((b.type === 'image' || b.type === 'document') && !isPlainObject(b.source)) throw badRequest(`${at}.content[${i}].source is required`);
    return b;
  });
};

const textSize = (blocks: Array<Record<string, unknown>>): number => blocks.reduce((n, b) => n + (typeof b.text === 'string' ? b.text.length : JSON.stringify(b).length), 0);

const str = (v: unknown, at: string): string => {
  if (typeof v !== 'string' || v === '') throw badRequest(`${at} is required`);
  return v;
};

/**
 * A client's event checked and given an id: unknown types, missing fields and blocks of the
 * wrong kind are a 400 naming the event (`events[2].content[0]…`). Queued events have
 * `processed_at: null` until the runtime takes them.
 */
export const clientEvent = (raw: unknown, index: number): SessionEvent => {
  const at = `events[${index}]`;
  if (!isPlainObject(raw)) throw badRequest(`${at} must be an object`);
  const type = raw.type;
  if (typeof type !== 'string' || !(CLIENT_EVENT_TYPES as readonly string[]).includes(type)) {
    throw badRequest(`${at}.type '${String(type).slice(0, 100)}' is not an event a client may send (one of ${CLIENT_EVENT_TYPES.join(', ')})`);
  }
  const base = { id: newEventId(), type, processed_at: null };
  let event: SessionEvent;
  switch (type as ClientEventType) {
    case 'user.message':
      event = { ...base, content: content(raw.content, at, CONTENT_TYPES['user.message'], true) };
      break;
    case 'system.message':
      event = { ...base, content: content(raw.content, at, CONTENT_TYPES['system.message'], true) };
      break;
    case 'user.interrupt':
      event = { ...base, ...(raw.session_thread_id != null ? { session_thread_id: raw.session_thread_id } : {}) };
      break;
    case 'user.tool_confirmation':
      if (raw.result !== 'allow' && raw.result !== 'deny') throw badRequest(`${at}.result must be 'allow' or 'deny'`);
      event = { ...base, tool_use_id: str(raw.tool_use_id, `${at}.tool_use_id`), result: raw.result, deny_message: typeof raw.deny_message === 'string' ? raw.deny_message : null };
      break;
    case 'user.custom_tool_result':
      event = { ...base, custom_tool_use_id: str(raw.custom_tool_use_id, `${at}.custom_tool_use_id`), content: content(raw.content, at, CONTENT_TYPES.result, false), is_error: raw.is_error === true };
      break;
    case 'user.tool_result':
      event = { ...base, tool_use_id: str(raw.tool_use_id, `${at}.tool_use_id`), content: content(raw.content, at, CONTENT_TYPES.result, false), is_error: raw.is_error === true };
      break;
    case 'user.define_outcome':
      event = defineOutcomeEvent(raw, at, base);
      break;
  }
  const blocks = Array.isArray(event.content) ? (event.content as Array<Record<string, unknown>>) : [];
  if (textSize(blocks) > MAX_EVENT_TEXT) throw badRequest(`${at}.content is larger than ${MAX_EVENT_TEXT} characters`);
  return event;
};

/** A tool use (built-in, MCP or custom) and the event types that answer one. */
export const TOOL_USE_TYPES: ReadonlySet<string> = new Set(['agent.tool_use', 'agent.custom_tool_use', 'agent.mcp_tool_use']);
export const toolResultTarget = (e: Record<string, unknown>): string | undefined => {
  switch (e.type) {
    case 'agent.tool_result':
    case 'user.tool_result':
      return e.tool_use_id as string;
    case 'user.custom_tool_result':
      return e.custom_tool_use_id as string;
    case 'agent.mcp_tool_result':
      return e.mcp_tool_use_id as string;
    default:
      return undefined;
  }
};
