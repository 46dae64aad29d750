import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create } from 'tar';

/** Builds a .tar.gz in memory from a map of path → content (paths as given, relative). */
export const makeTarball = async (files: Record<string, string>): Promise<Buffer> => {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-pkg-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const chunks: Buffer[] = [];
    const stream = create({ gzip: true, cwd: dir, portable: true }, Object.keys(files));
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const agentYaml = (o: { name: string; version: string; scope: string; description?: string; extra?: string }): string =>
  [
    `name: ${o.name}`,
    `version: ${o.version}`,
    `description: ${o.description ?? 'A helpful test agent'}`,
    `author: "@${o.scope}"`,
    'license: MIT',
    'tags: [test, helper]',
    'category: productivity',
    o.extra ?? '',
  ].join('\n');

export const agentTarball = (o: { name: string; version: string; scope: string; description?: string; readme?: string; extra?: string }) =>
  makeTarball({ 'agent.yaml': agentYaml(o), 'README.md': o.readme ?? `# ${o.name}\n`, 'prompts/system.md': 'You are helpful.' });

/** A client for the native API with a token. */
export class Api {
  constructor(
    readonly base: string,
    readonly token?: string,
  ) {}

  with(token: string | undefined): Api {
    return new Api(this.base, token);
  }

  async req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let payload: RequestInit['body'];
    if (body instanceof FormData) payload = body;
    else if (typeof body === 'string' || body instanceof Uint8Array) payload = body as RequestInit['body'];
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] = 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  publish(path: string, tarball: Buffer, fields: Record<string, string> = {}) {
    const form = new FormData();
    form.set('tarball', new Blob([tarball], { type: 'application/gzip' }), 'package.tgz');
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return this.req('PUT', path, form);
  }
}
