import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
/** The server's logger (pino): the child needs to know which levels it writes. */
type ParentLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

/**
 * A request's logger (`request.log`, with the request id bound) made when the request first logs
 * at a level the server writes, not for every request: a pino child costs a bindings object, its
 * redaction and a new logger, several microseconds a request. At `info` (the default) Fastify logs
 * every request and the child is made as before; at `warn` and above a request that logs nothing
 * never makes one. Whatever is logged goes out exactly as through the child made up front.
 */
class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: ParentLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.#child ??= this.parent.child(this.bindings, this.options));
  }

  private write(level: LogLevel, args: unknown[]): void {
    if (this.#child === undefined && !this.parent.isLevelEnabled(level)) return;
    (this.real[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#child?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }

  isLevelEnabled(level: string): boolean {
    return this.#child ? (this.#child as ParentLogger).isLevelEnabled(level) : this.parent.isLevelEnabled(level);
  }
}

/**
 * Fastify's `childLoggerFactory`: a request logger made on first use (see RequestLogger); a route
 * with a log level or serializers of its own gets its pino child at once, as Fastify would make it.
 */
export const requestLogger = (logger: FastifyBaseLogger, bindings: Bindings, options: ChildOptions): FastifyBaseLogger => {
  if (options?.level !== undefined || options?.serializers !== undefined || typeof (logger as Partial<ParentLogger>).isLevelEnabled !== 'function') {
    return logger.child(bindings, options);
  }
  return new RequestLogger(logger as ParentLogger, bindings, options);
};

/**
 * Fastify's per-request log lines (`incoming request`, `request completed`, both at `info`) written
 * exactly as Fastify writes them, but asked of the level first: Fastify builds each line's object
 * (and reads the response time) before the logger drops it, on every request of a server that
 * logs at `warn` or above. A failed request's `request errored` line (at `error`) goes as before.
 */
export class LevelAwareLogController extends LogController {
  /** Whether a request's logger writes `info` (a logger that cannot tell is asked to write). */
  private static info = (log: FastifyBaseLogger): boolean => (log as Partial<ParentLogger>).isLevelEnabled?.('info') ?? true;

  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (LevelAwareLogController.info(request.log)) super.incomingRequest(request, reply, metadata);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error || LevelAwareLogController.info(reply.log)) super.requestCompleted(error, request, reply, metadata);
  }
}
