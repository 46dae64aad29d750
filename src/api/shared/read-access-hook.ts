import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Registry } from '../../core/registry.js';
import { isConsoleAsset } from './console-paths.js';
import { looksLikeEnvironmentKey } from '../../core/managed/environments/environment-service.js';
import { presentedToken, requestContext } from './request-context.js';

/**
 * Requests a closed server (`--auth-required-for-reads`) still answers without a token: the health
 * probes, the operator's metrics (which `--metrics-token` guards on its own), the OAuth sign-in that gets a token in the first place, and the OCI
 * door, whose own auth answers with the registry challenge (WWW-Authenticate) clients need; a chat
 * platform's webhook and OAuth callback of an integration (checked by its signature or state in the
 * core); and the web console's files and pages, where a person signs in.
 */
const OPEN_PATHS = /^\/(healthz|livez|readyz|metrics|api\/v1\/auth\/(github|callback)|v1\/oauth\/[^/?]+\/(authorize|callback)|v2|v1\/integrations\/[^/?]+\/(events|oauth\/callback)(?=\?|$))(\/|\?|$)/;

export const isOpenWithoutToken = (url: string): boolean => OPEN_PATHS.test(url);

/**
 * `--auth-required-for-reads`, for every door in one place: a request without a valid token is
 * refused with 401 before any route runs, in the door's own error shape (the error goes to the
 * door's error handler like any other). The core applies the same rule on every read
 * (`AccessPolicy.requireReadAccess`), so a route this hook missed would still refuse.
 */
const readAccessPlugin: FastifyPluginAsync<{ registry: Registry; consoleServed?: boolean }> = async (app, { registry, consoleServed }) => {
  if (!registry.policy.authRequiredForReads) return;
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (isOpenWithoutToken(request.url)) return;
    // A self-hosted environment's key is checked by the managed door, the only one that takes it
    // (every other door refuses it as an invalid token).
    const secret = presentedToken(request);
    if (secret !== undefined && looksLikeEnvironmentKey(secret)) return;
    // The web console's files and pages hold nobody's data: a closed server still serves its sign-in.
    if (consoleServed && isConsoleAsset(request)) return;
    registry.policy.requireReadAccess(await requestContext(registry, request));
  });
};

export const readAccessHook = fp(readAccessPlugin, { name: 'agentry-read-access' });
