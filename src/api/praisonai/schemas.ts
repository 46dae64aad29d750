import { Type, type Static } from 'typebox';

/** TypeBox schemas of the PraisonAI recipe-registry door (seed 001): they validate requests and generate `/openapi.json`. */

export const ErrorBody = Type.Object(
  { error: Type.String(), code: Type.Integer({ description: 'The HTTP status, repeated' }) },
  { $id: 'PraisonaiError', description: "PraisonAI's error body: a human message and the status" },
);

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
};

export const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128, description: 'Recipe name' }) });
export const VersionParams = Type.Object({
  ...NameParams.properties,
  version: Type.String({ minLength: 1, maxLength: 64, description: 'Version string (e.g. "1.0.0")' }),
});

const Limit = Type.Integer({ minimum: 1, maximum: 1000, description: 'Maximum number of results (default: 50)' });
const Tags = Type.String({ maxLength: 1000, description: 'Filter by tags (comma-separated; a recipe matches when it has any of them)' });

export const ListQuery = Type.Object({
  tags: Type.Optional(Tags),
  limit: Type.Optional(Limit),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Offset for pagination (default: 0)' })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "praisonai's client: page number, from 1 (with per_page)" })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: "praisonai's client: page size" })),
});
export type ListQuery = Static<typeof ListQuery>;

export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200, description: 'Search query (matches name, description, tags)' }),
  tags: Type.Optional(Tags),
  limit: Type.Optional(Limit),
});
export type SearchQuery = Static<typeof SearchQuery>;

export const RecipeItem = Type.Object({
  name: Type.String(),
  version: Type.String({ description: 'The latest version (highest semver)' }),
  description: Type.String(),
  tags: Type.Array(Type.String()),
});

export const ListResponse = Type.Object({
  recipes: Type.Array(RecipeItem),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

export const SearchResponse = Type.Array(RecipeItem);
/** What praisonai's own Python client reads from search (see client-dialect.ts). */
export const SearchResponseForClient = Type.Object({ ok: Type.Boolean(), query: Type.String(), results: Type.Array(RecipeItem), count: Type.Integer() });

const VersionEntry = Type.Object({
  checksum: Type.String({ description: 'sha256:<hex> of the bundle' }),
  published_at: Type.String(),
});

export const RecipeInfo = Type.Object({
  name: Type.String(),
  latest: Type.Union([Type.String(), Type.Null()], { description: 'The highest semver version, not the last published' }),
  versions: Type.Record(Type.String(), VersionEntry),
  description: Type.String(),
  tags: Type.Array(Type.String()),
});

export const VersionInfo = Type.Object({
  name: Type.String(),
  version: Type.String(),
  checksum: Type.String({ description: 'sha256:<hex> of the bundle' }),
  published_at: Type.String(),
  size: Type.Integer(),
  manifest: Type.Record(Type.String(), Type.Unknown(), { description: "The bundle's manifest.json" }),
});

export const PublishBody = Type.Object(
  {
    bundle: Type.Union([
      Type.String({ minLength: 1, description: 'Base64-encoded .praison bundle (JSON, or a multipart text field)' }),
      Type.Unsafe<Buffer>({ binaryFile: true, description: 'The .praison bundle as a multipart file' }),
    ]),
    force: Type.Optional(Type.Boolean({ description: 'Replace the content of an existing version (default: false)' })),
    access: Type.Optional(
      Type.Enum(['public', 'internal', 'private'], {
        description: "Who may read the recipe: a first publish takes it (default: the recipe scope's default); a later publish that sends it changes it (Agentry extension)",
      }),
    ),
  },
  { description: 'application/json `{bundle: <base64>, force, access}`, or multipart/form-data with a `bundle` file and `force` and `access` fields' },
);
export type PublishBody = Static<typeof PublishBody>;

export const PublishResponse = Type.Object({
  ok: Type.Boolean(),
  name: Type.String(),
  version: Type.String(),
  checksum: Type.String(),
  published_at: Type.String(),
});

export const DeleteResponse = Type.Object({ ok: Type.Boolean(), message: Type.String() });
export const DeleteAllResponse = Type.Object({ ok: Type.Boolean(), deleted: Type.String(), message: Type.String() });
