import { createHash } from 'node:crypto';
import { makeTarball } from './packages.js';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export interface BundleOptions {
  name: string;
  version: string;
  description?: string;
  tags?: string[];
  author?: string;
  /** Files of the recipe besides manifest.json (default: a TEMPLATE.yaml and a prompt). */
  files?: Record<string, string>;
  /** Rewrites the manifest before it is written (to make bad bundles). */
  edit?: (m: Record<string, unknown>) => void;
}

/** A PraisonAI `.praison` bundle as `praisonai recipe pack` makes it: a gzip tarball with manifest.json at the root. */
export const praisonBundle = async (o: BundleOptions): Promise<Buffer> => {
  const files = o.files ?? {
    'TEMPLATE.yaml': `name: ${o.name}\nversion: "${o.version}"\ndescription: ${o.description ?? 'A helpful AI agent'}\n`,
    'prompts/system.md': 'You are a helpful assistant.\n',
  };
  const manifest: Record<string, unknown> = {
    name: o.name,
    version: o.version,
    description: o.description ?? 'A helpful AI agent',
    tags: o.tags ?? ['agent', 'assistant'],
    ...(o.author !== undefined ? { author: o.author } : {}),
    created_at: '2024-01-15T10:30:00+00:00',
    files: Object.entries(files).map(([path, content]) => ({ path, checksum: sha256Hex(content) })),
  };
  o.edit?.(manifest);
  return makeTarball({ ...files, 'manifest.json': JSON.stringify(manifest, null, 2) });
};

/** The multipart body praisonai's HttpRegistry client sends: a `force` field, then the `bundle` file. */
export const praisonMultipart = (bundle: Buffer, force: boolean, fileName = 'bundle.praison'): { body: Buffer; contentType: string } => {
  const boundary = `----PraisonAI${sha256Hex(bundle).slice(0, 32)}`;
  const crlf = '\r\n';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}${crlf}Content-Disposition: form-data; name="force"${crlf}${crlf}${force ? 'true' : 'false'}${crlf}`),
    Buffer.from(`--${boundary}${crlf}Content-Disposition: form-data; name="bundle"; filename="${fileName}"${crlf}Content-Type: application/gzip${crlf}${crlf}`),
    bundle,
    Buffer.from(`${crlf}--${boundary}--${crlf}`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
};
