import { packageArtifact } from '../../core/oci/package-artifacts.js';
import { skillFrontMatter } from '../../core/packages/manifest/skill-md.js';
import type { PackageView } from '../../core/packages/package-service.js';

/** A stored skill → ToolHive's registry `Skill` (the `x/dev.toolhive/skills` extension). Translation only. */
export interface ToolhiveSkill {
  namespace: string;
  name: string;
  description: string;
  version: string;
  status: string;
  title?: string;
  license?: string;
  compatibility?: string;
  allowedTools: string[];
  metadata: Record<string, string>;
  repository?: { type: string; url: string };
  icons: Array<{ src: string; type?: string; size?: string; label?: string }>;
  packages: Array<{ registryType: string; identifier: string; digest: string; mediaType: string; url: string; ref: string }>;
  _meta: Record<string, unknown>;
}

export const toToolhiveSkill = (view: PackageView, base: string): ToolhiveSkill | undefined => {
  const latest = view.latest;
  if (!latest) return undefined;
  const fm = skillFrontMatter(latest.manifest);
  const ref = `@${view.pkg.scope}/${view.pkg.name}@${latest.version}`;
  const repository = fm.metadata.repository ?? view.pkg.repository ?? undefined;
  // The same version as an OCI artifact on this server's /v2/, and as the plain tarball.
  const artifact = packageArtifact(view.pkg, latest);
  const host = new URL(base).host;
  return {
    namespace: view.pkg.scope,
    name: fm.name || view.pkg.name,
    description: fm.description,
    version: latest.version,
    status: latest.deprecated ? 'deprecated' : 'active',
    ...(fm.metadata.title ? { title: fm.metadata.title } : {}),
    ...(fm.license ? { license: fm.license } : {}),
    ...(fm.compatibility ? { compatibility: fm.compatibility } : {}),
    allowedTools: fm.allowedTools,
    metadata: fm.metadata,
    ...(repository ? { repository: { type: 'git', url: repository } } : {}),
    icons: [],
    packages: [
      {
        registryType: 'oci',
        identifier: `${host}/${view.pkg.scope.toLowerCase()}/${view.pkg.name.toLowerCase()}:${latest.version}`,
        digest: artifact.digest,
        mediaType: artifact.mediaType,
        url: `${base}/v2/${view.pkg.scope.toLowerCase()}/${view.pkg.name.toLowerCase()}/manifests/${artifact.digest}`,
        ref: latest.version,
      },
      {
        registryType: 'agentry',
        identifier: `@${view.pkg.scope}/${view.pkg.name}`,
        digest: latest.digest,
        mediaType: 'application/gzip',
        url: `${base}/api/v1/blobs/${latest.digest}`,
        ref,
      },
    ],
    _meta: {
      'dev.agentry': {
        publishedAt: latest.publishedAt,
        updatedAt: view.pkg.updatedAt,
        downloads: view.pkg.downloadCount,
        ...(latest.deprecated ? { deprecated: latest.deprecated } : {}),
      },
    },
  };
};
