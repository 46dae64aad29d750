/**
 * Where the core gets an A2A agent card by URL (the adapter fetches it through the egress policy).
 * Throws AgentryError values: a URL the egress policy refuses is a 422 naming `url`; an agent that
 * does not answer, or answers something other than a JSON document, is a 502.
 */
export interface AgentCardSource {
  fetchCard(url: string): Promise<unknown>;
}
