#!/usr/bin/env node
/**
 * One blob pull with Agentry's OCI client, in a process of its own, for bench/oci-pull.mjs: the
 * client's CPU (user and system, every thread) is then its own, as curl's is. Loading the client and
 * one HEAD of the blob first (the pull token and a kept-alive connection, as `agentry oci pull` has
 * from fetching the manifest before its layers) are not timed; the pull (one fetchBlob call) is. As
 * `agentry oci pull` does before the manifest, the client is asked to get ready for downloads to files
 * before that HEAD (`prepareFileDownloads`, where the build has it): its writer thread boots during
 * the HEAD, and whatever of the boot is left when the pull starts is timed.
 *
 *   node bench/oci-pull-client.mjs <agentry root> <host/repo> <digest> <size> <out file> <sync: 1|0>
 *
 * Credentials come as JSON in AGENTRY_BENCH_CREDENTIALS ({ host: { username, password } }).
 * Prints one line of JSON: { secs, userMs, sysMs }.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [root, repo, digest, size, out, sync] = process.argv.slice(2);
const { OciClient } = await import(new URL('dist/adapters/oci-client/index.js', pathToFileURL(`${resolve(root)}/`)).href);
const client = new OciClient({ credentials: JSON.parse(process.env.AGENTRY_BENCH_CREDENTIALS ?? '{}') });
client.prepareFileDownloads?.();
if ((await client.blobSize(repo, digest)) !== Number(size)) throw new Error(`${repo} has no blob ${digest} of ${size} bytes`);
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
await client.fetchBlob(repo, { digest, size: Number(size) }, { toPath: out, sync: sync === '1' });
const secs = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ secs, userMs: cpu.user / 1000, sysMs: cpu.system / 1000 }));
