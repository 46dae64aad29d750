import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
/** What a route asks its compiler for: the schema, where it sits, and the route. */
type RouteSchema = Record<string, unknown>;
/** The compilers' factories as Fastify calls them: (shared schemas, options) → (route schema) → function. */
type BuildValidator = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => AjvLike;
type BuildSerializer = (externalSchemas: unknown, options: unknown) => (route: RouteSchema) => (data: unknown) => string;

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

/**
 * Validators compiled on a route's first request instead of at start-up: the server has several
 * hundred routes (a HEAD twin for each GET), and compiling every schema up front cost seconds of
 * CPU and tens of MB of heap for routes most servers never see. What a route answers is unchanged:
 * the stand-in forwards the call, `errors` and `schemaEnv` to the compiled validator (Fastify
 * reads them before and after each call). Header schemas are passed as given (none of the
 * routes declares one; Fastify lower-cases their keys only for its own compiler).
 */
const lazyValidators =
  (pending: Pending, build: BuildValidator): BuildValidator =>
  (externalSchemas, options) => {
    const compileRoute = build(externalSchemas, options);
    return (route) => {
      const compiled = once(pending, () => compileRoute(route));
      const validate = ((data: unknown, ctx?: unknown) => (ctx === undefined ? compiled()(data) : compiled()(data, ctx))) as AjvLike;
      Object.defineProperty(validate, 'errors', { get: () => compiled().errors });
      Object.defineProperty(validate, 'schemaEnv', { get: () => compiled().schemaEnv });
      return validate;
    };
  };

/** Response serializers compiled on the first response of their route and status (see lazyValidators). */
const lazySerializers =
  (pending: Pending, build: BuildSerializer): BuildSerializer =>
  (externalSchemas, options) => {
    const compileRoute = build(externalSchemas, options);
    return (route) => {
      const compiled = once(pending, () => compileRoute(route));
      return (data: unknown) => compiled()(data);
    };
  };

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
        buildValidator: lazyValidators(pending, AjvCompiler() as unknown as BuildValidator),
        buildSerializer: lazySerializers(pending, SerializerSelector() as unknown as BuildSerializer),
      } as unknown as SchemaController['compilersFactory'],
    },
    compileAll: () => {
      const all = [...pending];
      for (const compile of all) compile();
      return all.length;
    },
  };
};
