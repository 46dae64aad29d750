import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
/** What a route asks its compiler for: the schema, where it sits, and the route. */
type RouteSchema = Record<string, unknown>;
/** The compilers' factories as Fastify calls them: (shared schemas, options) → (route schema) → function. */
type BuildValidator = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => AjvLike;
type Serializer = (data: unknown) => string;
type BuildSerializer = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => Serializer;

/** A compiled Ajv validator as Fastify calls it (`errors` and `schemaEnv` are read after and before each call). */
interface AjvLike {
  (data: unknown, ctx?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

/** The compilations a server has deferred, each removed once done. */
type Pending = Set<() => unknown>;

const once = <T>(pending: Pending, build: () => T): (() => T) => {
  let built: T | undefined;
  const get = (): T => {
    if (built === undefined) {
      built = build();
      pending.delete(get);
    }
    return built;
  };
  pending.add(get);
  return get;
};

/** A compiler factory whose compilers hand out `standIn(compiled)` and compile on the stand-in's first use. */
const deferred =
  <F>(pending: Pending, build: (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => F, standIn: (compiled: () => F) => F) =>
  (externalSchemas: unknown, options: unknown) => {
    const compileRoute = build(externalSchemas, options);
    return (route: RouteSchema): F => standIn(once(pending, () => compileRoute(route)));
  };

/**
 * A validator compiled on its route's first request instead of at start-up: the server has
 * several hundred routes (a HEAD twin for each GET), and compiling every schema up front cost
 * seconds of CPU and MBs of heap for routes most servers never see. What a route answers is
 * unchanged: the stand-in forwards the call, `errors` and `schemaEnv` to the compiled validator
 * (Fastify reads them before and after each call). Header schemas are passed as given (none of
 * the routes declares one; Fastify lower-cases their keys only for its own compiler).
 */
const validatorStandIn = (compiled: () => AjvLike): AjvLike => {
  const validate = ((data: unknown, ctx?: unknown) => (ctx === undefined ? compiled()(data) : compiled()(data, ctx))) as AjvLike;
  Object.defineProperty(validate, 'errors', { get: () => compiled().errors });
  Object.defineProperty(validate, 'schemaEnv', { get: () => compiled().schemaEnv });
  return validate;
};

/** A response serializer compiled on the first response of its route and status. */
const serializerStandIn =
  (compiled: () => Serializer): Serializer =>
  (data) =>
    compiled()(data);

export interface LazySchemas {
  /** Fastify's `schemaController` option. */
  controller: SchemaController;
  /** Compiles every schema not compiled yet and says how many there were (tests: a broken schema must not wait for its first request). */
  compileAll(): number;
}

/** Fastify's own compilers (Ajv, fast-json-stringify), each schema compiled when first used; one per server. */
export const lazySchemas = (): LazySchemas => {
  const pending: Pending = new Set();
  return {
    controller: {
      compilersFactory: {
        buildValidator: deferred(pending, AjvCompiler() as unknown as BuildValidator, validatorStandIn),
        buildSerializer: deferred(pending, SerializerSelector() as unknown as BuildSerializer, serializerStandIn),
      } as unknown as SchemaController['compilersFactory'],
    },
    compileAll: () => {
      const all = [...pending];
      for (const compile of all) compile();
      return all.length;
    },
  };
};
