/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`
 * or `Basic realm="Registry"`.
 */
export interface AuthChallenge {
  /** Lower-cased: `bearer`, `basic`, … */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses every challenge in a header value. Parameter names are lower-cased; quoted values may hold
 * commas and escaped quotes. Unparseable input gives what could be read, never throws.
 */
export const parseChallenges = (header: string): AuthChallenge[] => {
  const out: AuthChallenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && /[\s,]/.test(header[i])) i += 1;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i])) i += 1;
    return header.slice(start, i);
  };
  while (i < n) {
    skipSpace();
    const scheme = readToken();
    if (!scheme) break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    // params: name=value pairs separated by commas, until the next bare token (the next scheme)
    for (;;) {
      while (i < n && /[\s]/.test(header[i])) i += 1;
      const save = i;
      while (i < n && /[\s,]/.test(header[i])) i += 1;
      const name = readToken();
      while (i < n && header[i] === ' ') i += 1;
      if (!name || header[i] !== '=') {
        i = save;
        break;
      }
      i += 1; // '='
      while (i < n && header[i] === ' ') i += 1;
      let value = '';
      if (header[i] === '"') {
        i += 1;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i += 1;
          value += header[i];
          i += 1;
        }
        i += 1; // closing quote
      } else {
        const start = i;
        while (i < n && header[i] !== ',' && !/\s/.test(header[i])) i += 1;
        value = header.slice(start, i);
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return out;
};

/** `repository:a/b:pull,push` scopes, merged by resource: `[repository:a/b:pull, repository:a/b:push]` → one entry. */
export const mergeScopes = (scopes: readonly string[]): string[] => {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const cut = scope.lastIndexOf(':');
    if (cut <= 0) continue;
    const resource = scope.slice(0, cut);
    const actions = byResource.get(resource) ?? new Set<string>();
    for (const a of scope.slice(cut + 1).split(',')) if (a) actions.add(a);
    byResource.set(resource, actions);
  }
  return [...byResource.entries()].map(([resource, actions]) => `${resource}:${[...actions].sort().join(',')}`).sort();
};
