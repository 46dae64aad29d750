import { TOOL_USE_TYPES, toolResultTarget } from './events.js';
import type { ModelBlock, ModelMessage } from './model-port.js';
import { mcpToolName } from './mcp-toolsets.js';
import { outcomeTurnText } from './outcomes/outcome-prompts.js';

type Ev = Record<string, unknown>;

const blocksOf = (content: unknown): ModelBlock[] =>
  (Array.isArray(content) ? (content as Ev[]) : []).flatMap((b): ModelBlock[] => {
    if (b.type === 'text' && typeof b.text === 'string') return b.text === '' ? [] : [{ type: 'text', text: b.text }];
    if ((b.type === 'image' || b.type === 'document') && typeof b.source === 'object' && b.source !== null) return [{ type: b.type, source: b.source as Record<string, unknown> }];
    return [];
  });

const resultContent = (content: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(content) ? (content as Ev[]) : []).filter((b) => b.type === 'text' || b.type === 'image' || b.type === 'document');

/**
 * The conversation a model sees, rebuilt from the session's event log: user and system messages,
 * the agent's messages and tool calls, every tool result, and outcomes (their task, the grader's
 * feedback). A tool call with no result (an interrupted turn, a denied or abandoned call) gets an
 * error result, so the history stays valid for providers that insist every call is answered. Only
 * events already processed count.
 */
export const conversationOf = (events: Ev[]): ModelMessage[] => {
  const messages: ModelMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: ModelBlock[]): void => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: [...blocks] });
  };
  const answered = new Set(events.map(toolResultTarget).filter((id): id is string => id !== undefined));
  const open: string[] = [];
  const closeOpen = (): void => {
    if (open.length === 0) return;
    push(
      'user',
      open.map((id) => ({ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: 'The tool call was not completed (interrupted).' }], is_error: true })),
    );
    open.length = 0;
  };
  for (const e of events) {
    if (e.processed_at === null) continue;
    const type = e.type as string;
    if (type === 'user.message') {
      closeOpen();
      push('user', blocksOf(e.content));
    } else if (type === 'system.message') {
      closeOpen();
      push(
        'user',
        blocksOf(e.content).map((b) => (b.type === 'text' ? { type: 'text' as const, text: `<system-message>\n${b.text}\n</system-message>` } : b)),
      );
    } else if (type === 'agent.message') {
      push('assistant', blocksOf(e.content));
    } else if (TOOL_USE_TYPES.has(type)) {
      // An MCP call is shown to the model under the name it was offered (mcp__<server>__<tool>).
      const name = type === 'agent.mcp_tool_use' ? mcpToolName(String(e.mcp_server_name), String(e.name)) : (e.name as string);
      push('assistant', [{ type: 'tool_use', id: e.id as string, name, input: (e.input as Record<string, unknown>) ?? {} }]);
      if (!answered.has(e.id as string)) open.push(e.id as string);
    } else if (outcomeTurnText(e) !== undefined) {
      // An outcome's task and the grader's feedback reach the agent as user turns.
      closeOpen();
      push('user', [{ type: 'text', text: outcomeTurnText(e)! }]);
    } else {
      const target = toolResultTarget(e);
      if (target !== undefined) push('user', [{ type: 'tool_result', tool_use_id: target, content: resultContent(e.content), is_error: e.is_error === true }]);
    }
  }
  closeOpen();
  return messages;
};
