import { Type } from 'typebox';

/** A publish finding (core/packages/publish-findings.ts) as every door answers it. */
export const Finding = Type.Object(
  {
    rule: Type.Enum(['risky-permissions', 'unknown-registry']),
    path: Type.String({ description: "Where in the manifest: 'permissions', 'packages[0].registryBaseUrl'" }),
    message: Type.String(),
  },
  { description: 'What a version was flagged for at publish (not refused): see docs/native-api.md, publish-time checks' },
);
