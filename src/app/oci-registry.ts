import { formatReference, isOciClientError, isRepositoryName, isTag, OciClient, parseReference, type OciReference, type RegistryEndpoint } from '../adapters/oci-client/index.js';
import type { OciArtifactClient, OciRef, OciRegistryPort } from '../core/agentspaces/oci-registry-port.js';

/** Every reference and registry the core hands back came from this adapter's own parsing. */
const ref = (r: OciRef): OciReference => r as OciReference;

/** The OCI client adapter as the core's agentspaces see it, sending through `fetch` (the egress policy, or in-process to this server). */
export const ociRegistryPort = (fetch: typeof globalThis.fetch): OciRegistryPort => ({
  client: (opts): OciArtifactClient => {
    const c = new OciClient({ ...opts, fetch });
    return {
      pushArtifact: (input) => c.pushArtifact({ ...input, ref: ref(input.ref) }),
      getManifest: (r) => c.getManifest(ref(r)),
      putManifest: (r, bytes, mediaType) => c.putManifest(ref(r), bytes, mediaType),
      deleteManifest: (r) => c.deleteManifest(ref(r)),
      pullArtifact: (r, o) => c.pullArtifact(ref(r), o),
      registry: (raw) => c.registry(raw),
      listRepositories: (e) => c.listRepositories(e as RegistryEndpoint),
      listTags: (r) => c.listTags(ref(r)),
    };
  },
  parseReference: (raw, opts) => parseReference(raw, opts),
  formatReference: (r) => formatReference(ref(r)),
  isRepositoryName,
  isTag,
  isRegistryError: isOciClientError,
});
