import type { Conversation } from './conversation.js';
import type { Turn } from './turn.js';

/**
 * The dev model's default answer: deterministic, built from the request alone. It is a local stand-in
 * for a model so sessions can be tried without a provider key, not a language model.
 *
 * - A tool result in the last user message → it reports the result back in words.
 * - A user line `/tool <name> <json object>` while the request offers tool `<name>` → a tool call with
 *   that input (`{}` without JSON), stop reason `tool_use`.
 * - Anything else → an echo of the message, naming the tools offered and how to call one.
 */
export const TOOL_COMMAND = /^\/tool\s+([A-Za-z0-9_.:-]+)\s*(.*)$/ms;

const quote = (s: string, max = 400): string => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
};

export const assistantTurn = (c: Conversation): Turn => {
  const last = [...c.messages].reverse().find((m) => m.role === 'user');
  if (!last) return { text: 'The dev model needs a user message to answer.' };
  if (last.toolResults.length > 0) {
    const lines = last.toolResults.map((r) => {
      const tool = r.name ? `The ${r.name} tool` : `Tool call ${r.toolCallId}`;
      return r.isError ? `${tool} failed: ${quote(r.content)}` : `${tool} returned: ${quote(r.content)}`;
    });
    return { text: lines.join('\n') };
  }
  const text = last.text.trim();
  const command = TOOL_COMMAND.exec(text);
  if (command) {
    const [, name, rest] = command;
    if (!c.tools.includes(name)) {
      return { text: c.tools.length === 0 ? `No tools are offered, so I cannot call '${name}'.` : `Tool '${name}' is not offered. Offered: ${c.tools.join(', ')}.` };
    }
    let input: unknown = {};
    if (rest.trim() !== '') {
      try {
        input = JSON.parse(rest);
      } catch {
        return { text: `The input for '${name}' is not JSON: ${quote(rest, 200)}. Write /tool ${name} {"key": "value"}.` };
      }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return { text: `The input for '${name}' must be a JSON object.` };
    return { text: `Calling ${name}.`, toolCalls: [{ name, input: input as Record<string, unknown> }] };
  }
  const parts = [`You said: "${quote(text)}".`];
  if (c.tools.length > 0) parts.push(`Tools offered: ${c.tools.join(', ')}. Send "/tool <name> {json input}" to have me call one.`);
  parts.push('(This is the Agentry dev model: a local stand-in that answers from your message, not a language model.)');
  return { text: parts.join(' ') };
};
