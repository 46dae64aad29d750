import { AgentryError } from '../../../core/errors.js';

/** A service the composition root always provides; a Registry built without it (some unit tests) fails loudly. */
export const available = <T>(service: T | undefined, what: string): T => {
  if (service === undefined) throw new AgentryError('internal', `This server was started without ${what}`);
  return service;
};
