/** A request of either protocol, reduced to what the dev model's assistant reads. */
export interface ToolResult {
  toolCallId: string;
  /** The name of the tool, from the earlier call with this id, when the history holds it. */
  name?: string;
  content: string;
  isError: boolean;
}

export interface ConversationMessage {
  role: 'user' | 'assistant';
  text: string;
  toolResults: ToolResult[];
}

export interface Conversation {
  model: string;
  system: string;
  messages: ConversationMessage[];
  /** Names of the tools the request offers. */
  tools: string[];
  /** The request's token limit, when it has one. */
  maxTokens?: number;
  /** All the text of the request, for a token count. */
  allText: string;
}
