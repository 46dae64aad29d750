import { Type } from 'typebox';

/** The live version a duplicate publish ran into (on its 409), in every door's error body. */
export const ExistingVersion = Type.Object(
  {
    version: Type.String(),
    sha256: Type.String({ description: 'sha256 (hex) of the live version’s tarball' }),
    identical: Type.Optional(Type.Boolean({ description: 'Whether the refused bytes are exactly the live version’s (a retry of a publish that succeeded)' })),
  },
  { description: 'On a 409 for a version that exists: the live version, its sha256, and whether the bytes sent are identical to it' },
);
