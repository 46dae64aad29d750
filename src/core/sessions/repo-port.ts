/**
 * The seam through which a session's `github_repository` resources reach its workspace: the adapter
 * clones each repository (git over HTTPS, through the server's egress policy) into the session's
 * workspace at its mount path, once (the working copy is the agent's from then on, kept across turns),
 * and removes the folders of repositories taken off the session.
 */
export interface RepositoryCheckout {
  /** The resource id (for messages). */
  id: string;
  url: string;
  /** Where in the workspace, inside `/workspace`. */
  path: string;
  checkout: { type: 'branch'; name: string } | { type: 'commit'; sha: string } | null;
  /** Sent as HTTP basic credentials (`x-access-token:<token>`); never logged, never written to the clone's config. */
  token?: string;
}

export interface WorkspaceRepos {
  /**
   * Removes the folders at `removed`, then clones every repository not there yet. Rejects with an
   * error whose message says which repository failed and why (a host the egress policy refuses is named).
   */
  sync(sessionId: string, repos: readonly RepositoryCheckout[], removed: readonly string[]): Promise<void>;
}
