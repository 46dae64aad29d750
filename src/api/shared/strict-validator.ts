import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AgentryError } from '../../core/errors.js';

/**
 * A validator for routes that must refuse, not repair, what they are sent: no type coercion, no
 * defaults, and an unknown field is an error (Fastify's default Ajv drops it silently). One line
 * per problem, in the same words as the rest of the door's validation errors.
 */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => strictValidator(schema, httpPart ?? 'body');

/**
 * The same strict check outside a route (the MCP endpoint's tool arguments): no coercion, no
 * defaults, an unknown field is an error; problems are named under `where`.
 */
export const strictValidator = (schema: TSchema, where: string): ((data: unknown) => { value: unknown; error?: undefined } | { error: AgentryError; value?: undefined }) => {
  const validator = Compile(schema);
  return (data: unknown) => {
    if (validator.Check(data)) return { value: data };
    const details: string[] = [];
    for (const e of validator.Errors(data)) {
      const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const at = `${where}${path ? `.${path}` : ''}`;
      const params = e.params as { additionalProperties?: string[]; requiredProperties?: string[]; allowedValues?: unknown[] };
      if (e.keyword === 'boolean' && e.schemaPath.endsWith('additionalProperties')) continue;
      if (params.additionalProperties) details.push(...params.additionalProperties.map((p) => `${where}: unknown field '${p}'`));
      else if (params.requiredProperties) details.push(...params.requiredProperties.map((p) => `${where}: missing required field '${p}'`));
      else if (Array.isArray(params.allowedValues)) details.push(`${at}: must be one of ${params.allowedValues.join(', ')}`);
      else details.push(`${at}: ${e.message}`);
    }
    return { error: new AgentryError('validation_failed', 'Validation failed', [...new Set(details)]) };
  };
};

/** {@link strictValidatorCompiler} for a route whose body is optional: no body is validated as `{}` (and handed on as that). */
export const strictOptionalBodyValidatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const validate = strictValidatorCompiler(route);
  return route.httpPart === 'body' ? (data: unknown) => validate(data ?? {}) : validate;
};
