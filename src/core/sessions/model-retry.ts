import type { SessionBus } from './event-bus.js';
import { ModelCallError, type ModelAnswer } from './model-port.js';

/** How a failed model request ends for the turn (`session.error`'s `retry_status.type`). */
export type RetryStatus = 'retrying' | 'terminal' | 'exhausted';

/** The longest wait before a retry, whatever the provider asks for. */
const MAX_RETRY_WAIT_MS = 60_000;

/** Whatever a model client threw, as a ModelCallError (an unknown failure is not retried). */
export const asModelCallError = (e: unknown): ModelCallError =>
  e instanceof ModelCallError ? e : new ModelCallError('failed', e instanceof Error ? e.message.slice(0, 500) : 'The model request failed', false);

/**
 * What a failed model request means, for a session's turn and a thread's alike: a retryable failure
 * (429, 5xx, overloaded) is retried up to `maxRetries` times, after the provider's `retry-after` or
 * an exponential wait. A request the provider refuses as malformed (400, 413, 422) would be refused
 * again with the same history: `terminal`, the session cannot go on. Other refusals (a bad key, a
 * missing model) are `exhausted`: the turn ends, and the card can be fixed and the message sent again.
 */
export const retryDecision = (f: ModelCallError, attempt: number, o: { maxRetries: number; retryBaseMs: number }): { status: RetryStatus; waitMs: number } => {
  if (f.retryable && attempt < o.maxRetries) return { status: 'retrying', waitMs: Math.min(f.retryAfterMs ?? o.retryBaseMs * 2 ** attempt, MAX_RETRY_WAIT_MS) };
  const terminal = !f.retryable && (f.status === 400 || f.status === 413 || f.status === 422);
  return { status: terminal ? 'terminal' : 'exhausted', waitMs: 0 };
};

/** Waits `ms`, or less if `signal` aborts first: true when the wait ran its course. */
export const waitUnlessAborted = (ms: number, signal: AbortSignal): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(false);
      },
      { once: true },
    );
  });

/** How a model request ended: its answer, its failure, or stopped (the reason it was stopped for). */
export type ModelCallOutcome = { answer: ModelAnswer } | { failure: ModelCallError } | { stopped: unknown };

/**
 * One model request (`request`, given the signal that stops it), for a session's turn and a thread's
 * alike: stopped when `signal` aborts (with its reason), or when `interrupted` answers true (with
 * `interruptReason`); `interrupted` is asked at once (an interrupt sent before the request started
 * counts) and again after every event appended to session `sessionId`.
 */
export const stoppableModelCall = async (
  bus: SessionBus,
  sessionId: string,
  signal: AbortSignal,
  interrupted: () => Promise<boolean>,
  interruptReason: unknown,
  request: (stop: AbortSignal) => Promise<ModelAnswer>,
): Promise<ModelCallOutcome> => {
  const call = new AbortController();
  const onOuter = () => call.abort(signal.reason);
  signal.addEventListener('abort', onOuter);
  const check = (): void => {
    void interrupted().then(
      (yes) => yes && call.abort(interruptReason),
      () => undefined,
    );
  };
  const unsubscribe = bus.subscribe((n) => {
    if (n.sessionId === sessionId && n.kind === 'appended') check();
  });
  check();
  try {
    return { answer: await request(call.signal) };
  } catch (e) {
    return call.signal.aborted ? { stopped: call.signal.reason as unknown } : { failure: asModelCallError(e) };
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onOuter);
  }
};
