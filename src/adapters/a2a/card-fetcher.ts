import type { AgentCardSource } from '../../core/a2a/card-source.js';
import { badGateway, unprocessable } from '../../core/errors.js';
import { isEgressError, UNREACHABLE, type EgressPolicy } from '../egress/index.js';

/** Largest agent card read (cards are small documents). */
const CARD_MAX_BYTES = 1024 * 1024;

/**
 * Fetches an A2A agent card by URL through the egress policy: the URL as given (a card's own
 * address, e.g. `https://agent.example/.well-known/agent-card.json`). A refused address is a 422
 * naming `url`; no answer, an error status, or something other than JSON is a 502.
 */
export class HttpAgentCardSource implements AgentCardSource {
  constructor(
    private readonly egress: EgressPolicy,
    private readonly timeoutMs = 10_000,
  ) {}

  async fetchCard(url: string): Promise<unknown> {
    const where = (() => {
      try {
        return new URL(url).host;
      } catch {
        return url.slice(0, 100);
      }
    })();
    let res: Response;
    try {
      res = await this.egress.fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      if (isEgressError(e) && e.refused) throw unprocessable('Agent card URL refused', [`url: the egress policy refuses ${where} (an operator allows it with --egress-allow)`]);
      throw badGateway('The agent card could not be fetched', [`url: ${e instanceof Error && e.name === 'TimeoutError' ? 'no answer in time' : UNREACHABLE}`]);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw badGateway(`The agent card URL answered ${res.status}`, [`url: ${where}`]);
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > CARD_MAX_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw badGateway(`The agent card is larger than ${CARD_MAX_BYTES} bytes`, [`url: ${where}`]);
    }
    const text = await res.text();
    if (text.length > CARD_MAX_BYTES) throw badGateway(`The agent card is larger than ${CARD_MAX_BYTES} bytes`, [`url: ${where}`]);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw badGateway('The agent card URL did not answer JSON', [`url: ${where}`]);
    }
  }
}
