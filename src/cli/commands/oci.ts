import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { digestFile, isAgentryError, isOciClientError, parseReference, type TransferPlan } from '../../adapters/oci-client/index.js';
import { CliError } from '../cli-error.js';
import { exitCodeForStatus } from '../exit-codes.js';
import { refuseExisting } from '../extract.js';
import { collectFiles, type LocalFile } from '../oci/local-files.js';
import { ociClientFor, withOciConnectionOptions, type OciConnectionOptions } from '../oci/oci-connection.js';
import { wholeNumber } from '../option-parsers.js';
import { formatBytes, printResult, renderTable } from '../output.js';
import { ProgressBar } from '../progress.js';

/** The artifact type `agentry oci push` gives files when --artifact-type is not given. */
export const DEFAULT_ARTIFACT_TYPE = 'application/vnd.agentry.files.v1';

interface PushOptions extends OciConnectionOptions {
  artifactType: string;
  mediaType?: string;
  annotation?: Record<string, string>;
  mountFrom?: string;
}

interface PullOptions extends OciConnectionOptions {
  out?: string;
}

interface ListOptions extends OciConnectionOptions {
  limit?: number;
}

const annotation = (value: string, previous: Record<string, string> = {}): Record<string, string> => {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value');
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
};

/** Core errors (OciClientError names registry, repository and status) become the CLI's one-line failures. */
const cliErrors = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (e) {
    // An OCI failure with no HTTP answer (httpStatus 0) is a network failure.
    if (isAgentryError(e)) throw new CliError(e.message, e.details, exitCodeForStatus(isOciClientError(e) ? e.httpStatus : e.status));
    throw e;
  }
};

/** A progress bar made once the transfer's size is known; silent off a TTY. */
const progressFor = (label: string) => {
  let bar: ProgressBar | undefined;
  return {
    onPlan: (plan: TransferPlan) => {
      bar = new ProgressBar(label, plan.totalBytes);
    },
    onProgress: (p: { bytes: number }) => bar?.advance(p.bytes),
    finish: () => bar?.finish(),
    clear: () => bar?.clear(),
  };
};

/** The sha256 of each file, streamed from disk, with a progress bar (on a terminal) when there is much to read. */
const hashFiles = async (files: LocalFile[]): Promise<string[]> => {
  const total = files.reduce((n, f) => n + f.size, 0);
  const bar = total >= 64 * 1024 * 1024 ? new ProgressBar('Hashing', total) : undefined;
  const out: string[] = [];
  try {
    for (const f of files) {
      const { digest, size } = await digestFile(f.path, (n) => bar?.advance(n));
      if (size !== f.size) throw new CliError(`${f.path} changed while it was read`);
      out.push(digest);
    }
  } catch (e) {
    bar?.clear();
    throw e;
  }
  bar?.finish();
  return out;
};

const shownPath = (path: string): string => {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : `./${rel}`;
};

export const registerOciCommand = (program: Command): void => {
  const oci = program
    .command('oci')
    .description('Push and pull OCI artifacts to and from any OCI registry (Agentry /v2/, docker-registry, ghcr.io, …)')
    .addHelpText(
      'after',
      `
References are registry/repository[:tag][@digest], e.g. 127.0.0.1:8080/alice/helper:1.0.0.
Loopback registries are spoken to over plain HTTP; others over HTTPS unless --plain-http.
Credentials, first found: --username with --password-stdin (or AGENTRY_OCI_USERNAME and
AGENTRY_OCI_PASSWORD); for an Agentry server, the token saved by 'agentry login' (or AGENTRY_TOKEN
with AGENTRY_REGISTRY); the docker config file (~/.docker/config.json). Else anonymous.`,
    );

  withOciConnectionOptions(
    oci
      .command('push')
      .description('Push files, or every file of folders, as one artifact (one layer per file, named by its title annotation)')
      .argument('<reference>', 'registry/repository:tag to push to')
      .argument('<paths...>', 'files and folders (a folder’s files keep their paths inside it)')
      .option('--artifact-type <type>', 'the artifact type', DEFAULT_ARTIFACT_TYPE)
      .option('--media-type <type>', 'media type of every layer (default application/vnd.oci.image.layer.v1.tar)')
      .option('-a, --annotation <key=value>', 'a manifest annotation (repeatable)', annotation)
      .option('--mount-from <repository>', 'mount blobs from this repository of the same registry instead of uploading them'),
  ).action((ref: string, paths: string[], opts: PushOptions) =>
    cliErrors(async () => {
      const target = parseReference(ref, { plainHttp: opts.plainHttp });
      if (target.digest) throw new CliError(`push to a tag, not a digest: ${ref}`);
      const files = await collectFiles(paths);
      const client = await ociClientFor(opts);
      const digests = await hashFiles(files);
      const progress = progressFor(`Pushing ${ref}`);
      let pushed;
      try {
        pushed = await client.pushArtifact({
          ref: target,
          artifactType: opts.artifactType,
          layers: files.map((f, i) => ({ path: f.path, title: f.title, digest: digests[i], size: f.size, ...(opts.mediaType ? { mediaType: opts.mediaType } : {}) })),
          ...(opts.annotation ? { annotations: opts.annotation } : {}),
          ...(opts.mountFrom ? { mountFrom: opts.mountFrom } : {}),
          onPlan: progress.onPlan,
          onProgress: progress.onProgress,
        });
      } catch (e) {
        progress.clear();
        throw e;
      }
      progress.finish();
      const total = files.reduce((n, f) => n + f.size, 0);
      const outcomes = new Map(pushed.blobs.map((b) => [b.digest, b.outcome]));
      const layers = 'layers' in pushed.manifest ? pushed.manifest.layers : [];
      printResult(
        opts.json === true,
        {
          reference: pushed.reference,
          digest: pushed.digest,
          mediaType: pushed.mediaType,
          artifactType: opts.artifactType,
          size: total,
          files: layers.map((l, i) => ({ title: files[i].title, path: files[i].path, digest: l.digest, size: l.size, mediaType: l.mediaType, outcome: outcomes.get(l.digest) })),
        },
        () => {
          const sent = pushed.blobs.filter((b) => b.outcome === 'uploaded').length;
          return `Pushed ${pushed.reference} (${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(total)}; ${sent} blob${sent === 1 ? '' : 's'} uploaded, ${pushed.blobs.length - sent} already there or mounted)`;
        },
      );
    }),
  );

  withOciConnectionOptions(
    oci
      .command('pull')
      .description('Pull an artifact into a new folder: each layer is verified against its digest and written under its title')
      .argument('<reference>', 'registry/repository:tag or registry/repository@sha256:…')
      .option('--out <dir>', 'the folder to create (default: ./<last part of the repository>)'),
  ).action((ref: string, opts: PullOptions) =>
    cliErrors(async () => {
      const source = parseReference(ref, { plainHttp: opts.plainHttp });
      const dest = resolve(opts.out ?? basename(source.repository));
      await refuseExisting(dest);
      const client = await ociClientFor(opts);
      const parent = dirname(dest);
      await mkdir(parent, { recursive: true });
      const temp = join(parent, `.${basename(dest)}.agentry-${randomBytes(4).toString('hex')}`);
      const progress = progressFor(`Pulling ${ref}`);
      let pulled;
      try {
        pulled = await client.pullArtifact(source, { dir: temp, onPlan: progress.onPlan, onProgress: progress.onProgress });
        await mkdir(temp, { recursive: true });
        await refuseExisting(dest);
        await rename(temp, dest);
      } catch (e) {
        progress.clear();
        await rm(temp, { recursive: true, force: true });
        throw e;
      }
      progress.finish();
      const files = pulled.layers.map((l) => ({
        title: l.title ?? null,
        path: join(dest, relative(temp, l.path as string)),
        digest: l.descriptor.digest,
        size: l.descriptor.size,
        mediaType: l.descriptor.mediaType,
      }));
      const total = files.reduce((n, f) => n + f.size, 0);
      printResult(
        opts.json === true,
        { reference: pulled.reference, digest: pulled.digest, artifactType: pulled.artifactType ?? null, annotations: pulled.manifest.annotations ?? {}, path: dest, files },
        () => `Pulled ${pulled.reference} into ${shownPath(dest)} (${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(total)}, verified)`,
      );
    }),
  );

  withOciConnectionOptions(
    oci.command('tags').description('List the tags of a repository').argument('<repository>', 'registry/repository').option('--limit <n>', 'stop after this many tags', wholeNumber(1)),
  ).action((repo: string, opts: ListOptions) =>
    cliErrors(async () => {
      const ref = parseReference(repo, { plainHttp: opts.plainHttp, allowBare: true });
      if (ref.tag || ref.digest) throw new CliError(`name a repository without a tag or digest: ${repo}`);
      const client = await ociClientFor(opts);
      const tags = await client.listTags(ref, { pageSize: 1000, ...(opts.limit ? { limit: opts.limit } : {}) });
      printResult(opts.json === true, { repository: `${ref.registry.host}/${ref.repository}`, tags }, () => (tags.length ? tags : [`${ref.registry.host}/${ref.repository} has no tags`]));
    }),
  );

  withOciConnectionOptions(
    oci
      .command('repos')
      .description("List a registry's repositories (its /v2/_catalog)")
      .argument('<registry>', 'host[:port], e.g. 127.0.0.1:8080')
      .option('--limit <n>', 'stop after this many repositories', wholeNumber(1)),
  ).action((registry: string, opts: ListOptions) =>
    cliErrors(async () => {
      const client = await ociClientFor(opts);
      const endpoint = client.registry(registry);
      const repositories = await client.listRepositories(endpoint, { pageSize: 1000, ...(opts.limit ? { limit: opts.limit } : {}) });
      printResult(opts.json === true, { registry: endpoint.host, repositories }, () => (repositories.length ? repositories : [`${endpoint.host} has no repositories`]));
    }),
  );

  withOciConnectionOptions(
    oci
      .command('copy')
      .description('Copy an artifact, image or index with everything under it to another reference (same or another registry)')
      .argument('<from>', 'registry/repository:tag or @digest to copy')
      .argument('<to>', 'registry/repository[:tag] to copy to'),
  ).action((from: string, to: string, opts: OciConnectionOptions) =>
    cliErrors(async () => {
      const client = await ociClientFor(opts);
      const copied = await client.copy(from, to);
      printResult(
        opts.json === true,
        copied,
        () =>
          `Copied ${from} to ${copied.reference} (${copied.manifests.length} manifest${copied.manifests.length === 1 ? '' : 's'}, ${copied.blobs.length} blob${copied.blobs.length === 1 ? '' : 's'})`,
      );
    }),
  );

  withOciConnectionOptions(oci.command('inspect').description('Show the manifest of a reference (verified against its digest)').argument('<reference>', 'registry/repository:tag or @digest')).action(
    (ref: string, opts: OciConnectionOptions) =>
      cliErrors(async () => {
        const client = await ociClientFor(opts);
        const m = await client.getManifest(ref);
        printResult(opts.json === true, { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length, manifest: m.manifest }, () => {
          const rows =
            'layers' in m.manifest
              ? m.manifest.layers.map((l) => [l.digest, String(l.size), l.mediaType, l.annotations?.['org.opencontainers.image.title'] ?? ''])
              : m.manifest.manifests.map((d) => [d.digest, String(d.size), d.mediaType, d.platform ? `${d.platform.os}/${d.platform.architecture}` : (d.artifactType ?? '')]);
          return [`${m.digest} ${m.mediaType}${m.manifest.artifactType ? ` (${m.manifest.artifactType})` : ''}`, renderTable(['DIGEST', 'SIZE', 'MEDIA TYPE', 'NAME'], rows)];
        });
      }),
  );

  withOciConnectionOptions(
    oci.command('rm').description('Delete a manifest (a tag is resolved to its digest: every tag of that manifest goes)').argument('<reference>', 'registry/repository:tag or @digest'),
  ).action((ref: string, opts: OciConnectionOptions) =>
    cliErrors(async () => {
      const client = await ociClientFor(opts);
      const digest = await client.deleteManifest(ref);
      printResult(opts.json === true, { deleted: digest }, () => `Deleted ${digest}`);
    }),
  );
};
