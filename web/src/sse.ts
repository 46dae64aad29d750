import { createParser } from 'eventsource-parser';
import { session } from './session';

export interface StreamHandlers {
  onEvent: (type: string, data: unknown, id: string | undefined) => void;
  /** `live` when the stream is open, `retrying` after it dropped, `closed` when stopped. */
  onState: (state: 'connecting' | 'live' | 'retrying' | 'closed', message?: string) => void;
}

/**
 * Follows a server-sent event stream of this server with the signed-in token (EventSource cannot send
 * an Authorization header, so the stream is fetched and read with eventsource-parser). After a drop it
 * reconnects with Last-Event-ID, so nothing is missed and nothing is shown twice. Returns a stop function.
 */
export const follow = (url: string, h: StreamHandlers): (() => void) => {
  const ac = new AbortController();
  let lastId: string | undefined;
  let retryMs = 1000;
  let attempt = 0;
  const run = async (): Promise<void> => {
    while (!ac.signal.aborted) {
      h.onState(attempt === 0 ? 'connecting' : 'retrying');
      attempt += 1;
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        const token = session.token();
        if (token) headers.authorization = `Bearer ${token}`;
        if (lastId !== undefined) headers['last-event-id'] = lastId;
        const res = await fetch(url, { headers, signal: ac.signal });
        if (!res.ok || !res.body) {
          const body = (await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined;
          h.onState('closed', body?.error?.message ?? `The server answered ${res.status}.`);
          // A refusal (not signed in, no such session) does not get better by asking again.
          if (res.status >= 400 && res.status < 500) return;
        } else {
          h.onState('live');
          const parser = createParser({
            onEvent: (e) => {
              if (e.id !== undefined) lastId = e.id;
              if (e.event === 'ping') return;
              let data: unknown;
              try {
                data = JSON.parse(e.data);
              } catch {
                data = e.data;
              }
              h.onEvent(e.event ?? 'message', data, e.id);
            },
            onRetry: (ms) => {
              retryMs = ms;
            },
          });
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
          }
        }
      } catch {
        if (ac.signal.aborted) break;
      }
      if (ac.signal.aborted) break;
      await new Promise((r) => setTimeout(r, Math.min(retryMs * Math.min(attempt, 5), 10_000)));
    }
    h.onState('closed');
  };
  void run();
  return () => ac.abort();
};
