import type { FastifyInstance } from 'fastify';

/** One route the server answers: its method and its URL pattern as Fastify holds it (`/api/v1/tokens/:id`). */
export interface RouteEntry {
  method: string;
  url: string;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();
const compilers = new WeakMap<FastifyInstance, () => number>();

/**
 * Starts collecting every route registered on `app` from now on (call it before any door is
 * mounted). The table is what tests walk to find routes nobody has covered: it is the
 * server's own list, never a hand-kept one. `compileAll` compiles the schemas of every route
 * that has not answered yet (they compile on first use, see lazySchemas).
 */
export const collectRoutes = (app: FastifyInstance, compileAll?: () => number): void => {
  const routes: RouteEntry[] = [];
  tables.set(app, routes);
  if (compileAll) compilers.set(app, compileAll);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method: method.toUpperCase(), url: route.url ?? route.path });
  });
};

/** The routes collected on `app` (empty when `collectRoutes` was not called). */
export const routeTableOf = (app: FastifyInstance): readonly RouteEntry[] => tables.get(app) ?? [];

/** Compiles every route schema of `app` not compiled yet; how many there were. */
export const compileRouteSchemasOf = (app: FastifyInstance): number => compilers.get(app)?.() ?? 0;
