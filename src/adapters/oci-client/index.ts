/**
 * Agentry as an OCI client: push and pull artifacts to and from any OCI distribution registry
 * (Agentry's own `/v2/`, docker-registry, ghcr.io, Harbor, …). No HTTP framework: the platform's fetch.
 *
 * @example
 *   import { OciClient } from '../adapters/oci-client/index.js';
 *   const oci = new OciClient({ credentials: { '127.0.0.1:8080': { username: 'alice', password: agentryToken } } });
 *   await oci.pushArtifact({
 *     ref: '127.0.0.1:8080/alice/space:1.0.0',
 *     artifactType: 'application/vnd.alquimia.registry.v1',
 *     layers: [
 *       { mediaType: 'application/yaml', path: 'agentspace.yaml' },              // title: agentspace.yaml
 *       { mediaType: 'text/markdown', data: '# Hello', title: 'README.md', annotations: { 'x.role': 'readme' } },
 *     ],
 *     annotations: { 'org.opencontainers.image.version': '1.0.0' },
 *   });
 *   const art = await oci.pullArtifact('127.0.0.1:8080/alice/space:1.0.0');   // layers[i].data, verified
 *   await oci.pullArtifact('127.0.0.1:8080/alice/space:1.0.0', { dir: 'out' }); // layers[i].path
 *   await oci.listTags('127.0.0.1:8080/alice/space');
 *   await oci.listRepositories('127.0.0.1:8080');
 *   await oci.deleteManifest('127.0.0.1:8080/alice/space:1.0.0');
 */
export { OciClient, describeBlob, nextLink } from './oci-client.js';
export type { OciClientOptions, BlobSource, PushBlobOptions, PushedBlob, FetchedManifest, ListOptions, Referrers } from './oci-client.js';
export { safeTitlePath } from './artifacts.js';
export type { ArtifactLayer, PushArtifactInput, PushedArtifact, PushIndexInput, PullArtifactOptions, PulledArtifact, PulledLayer, TransferPlan, TransferProgress } from './artifacts.js';
export type { CopyOptions, CopyResult } from './copy.js';
export { basicAuthorization, dockerConfigPath, readDockerConfig } from './credentials.js';
export type { Credentials, CredentialResolver } from './credentials.js';
export { parseChallenges, mergeScopes } from './challenge.js';
export type { AuthChallenge } from './challenge.js';
export { digestFile, isDigest, sha256Digest, digestToTag } from './digest.js';
export * from './media-types.js';
export { OciClientError, isOciClientError } from './oci-client-error.js';
export type { RegistryErrorEntry } from './oci-client-error.js';
export { formatReference, isRepositoryName, isTag, parseReference, parseRegistry } from './reference.js';
export type { OciReference, RegistryEndpoint } from './reference.js';
export { DEFAULT_RETRY } from './retry.js';
export type { RetryPolicy } from './retry.js';
export type { Annotations, Descriptor, ImageIndex, ImageManifest, Manifest, Platform } from './types.js';
export { isIndex } from './types.js';
export { AgentryError, isAgentryError } from '../../core/errors.js';
