import { Type } from 'typebox';
import { CATEGORY_SLUGS } from '../../core/packages/categories.js';
import { SEARCH_MODES } from '../../core/search/search-mode.js';

/** TypeBox schemas of the MCP endpoint's tool arguments: they validate each call and are listed as each tool's `inputSchema`. */

const kind = (description: string) => Type.Enum(['agent', 'skill', 'mcp-server', 'recipe'], { description });

/** `@scope/name` (the '@' optional): how a model names a package. */
export const PackageRef = Type.String({
  minLength: 3,
  maxLength: 230,
  pattern: '^@?[A-Za-z0-9][A-Za-z0-9.-]*/[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: "The package, as '@scope/name'",
});

/**
 * The filters of `search_packages`. Each maps onto the core's package query, the one the native
 * search route runs, `mode` (keyword, semantic, hybrid) included.
 */
export const SearchInput = Type.Object(
  {
    query: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Words to look for in names, descriptions, tags and READMEs; every word must match (as a prefix)' })),
    kind: Type.Optional(kind('Only packages of this kind (default: every kind)')),
    category: Type.Optional(Type.Enum([...CATEGORY_SLUGS], { description: 'Only packages of this category' })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 50, description: 'Only packages carrying this tag' })),
    scope: Type.Optional(Type.String({ minLength: 1, maxLength: 101, description: "Only packages of this scope ('@acme' or 'acme')" })),
    owner: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only packages owned by this account (a user or an organization), in every scope it owns' })),
    verified: Type.Optional(Type.Boolean({ description: 'Only verified (true) or unverified (false) packages' })),
    deprecated: Type.Optional(Type.Boolean({ description: 'Only packages whose latest version is deprecated (true) or is not (false)' })),
    sort: Type.Optional(Type.Enum(['relevance', 'downloads', 'stars', 'newest', 'name'], { description: 'Order (default: relevance with a query, downloads without)' })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'Page number, from 1' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'Packages per page (default 10)' })),
    mode: Type.Optional(
      Type.Enum([...SEARCH_MODES], {
        description: "How to rank: 'keyword' (default; by words), 'semantic' (by meaning) or 'hybrid' (both fused); the last two need a query and the server's embeddings endpoint",
      }),
    ),
  },
  { additionalProperties: false },
);

export const GetPackageInput = Type.Object(
  {
    package: PackageRef,
    kind: Type.Optional(kind('The kind it must be (not found when it is another)')),
    versions: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'How many versions to list, newest first (default 20)' })),
  },
  { additionalProperties: false },
);

const WorkloadName = Type.String({ minLength: 1, maxLength: 200, description: 'The workload (a running MCP server) name' });

export const ListWorkloadsInput = Type.Object(
  {
    all: Type.Optional(Type.Boolean({ description: 'Stopped workloads too (default: running ones only)' })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only this group' })),
  },
  { additionalProperties: false },
);

export const WorkloadToolsInput = Type.Object(
  { workload: WorkloadName, cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'The next page, as a previous answer gave it' })) },
  { additionalProperties: false },
);

export const WorkloadInput = Type.Object({ workload: WorkloadName }, { additionalProperties: false });

export const RunAgentInput = Type.Object(
  {
    agent: Type.String({
      minLength: 3,
      maxLength: 320,
      description:
        "The agent to run, as its A2A path: an agent package '@scope/name' (or '@scope/name@1.2.0'), a managed agent 'agents/<id>', or an agentspace agent 'agentspaces/<agentspace_id>/<assistant_id>'",
    }),
    message: Type.String({ minLength: 1, maxLength: 100_000, description: 'The user message of this turn' }),
    session_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Continue this session of yours (from an earlier answer) instead of starting one' })),
    environment_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "For a new session: the environment it runs in (default: the agent's own, else your newest)" })),
  },
  { additionalProperties: false },
);
