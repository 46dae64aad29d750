import type { Readable } from 'node:stream';
import type { RequestContext } from '../../auth/principal.js';
import { AgentryError, badRequest } from '../../errors.js';
import type { SessionEvent } from '../events.js';
import { MAX_RUBRIC_CHARS } from './outcome-spec.js';

/** Where file rubrics are read: the files service (its access policy decides what the caller may read). */
export interface RubricFiles {
  open(ctx: RequestContext, id: string): Promise<{ body: Readable }>;
}

const MAX_RUBRIC_BYTES = MAX_RUBRIC_CHARS * 4;

const readText = async (body: Readable, at: string): Promise<string> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += b.length;
    if (size > MAX_RUBRIC_BYTES) {
      body.destroy();
      throw badRequest(`${at}.rubric.file_id: the rubric file is larger than ${MAX_RUBRIC_CHARS} characters`);
    }
    chunks.push(b);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw badRequest(`${at}.rubric.file_id: the rubric file is not UTF-8 text`);
  }
  if (text.length > MAX_RUBRIC_CHARS) throw badRequest(`${at}.rubric.file_id: the rubric file is larger than ${MAX_RUBRIC_CHARS} characters`);
  if (text.trim() === '') throw badRequest(`${at}.rubric.file_id: the rubric file is empty`);
  return text;
};

/**
 * File rubrics of `user.define_outcome` events, read as the caller through the files service and
 * resolved to their text (as Anthropic's API does: "file rubrics are resolved to their text
 * content"), so the grader never needs the caller's rights. A file the caller cannot read is
 * "not found"; `at` names the events (`events` or `initial_events`).
 */
export const resolveRubricFiles = async (files: RubricFiles | undefined, ctx: RequestContext, events: SessionEvent[], at: string): Promise<SessionEvent[]> => {
  const out: SessionEvent[] = [];
  for (const [i, e] of events.entries()) {
    const rubric = e.rubric as Record<string, unknown> | undefined;
    if (e.type !== 'user.define_outcome' || rubric?.type !== 'file') {
      out.push(e);
      continue;
    }
    const where = `${at}[${i}]`;
    const fileId = String(rubric.file_id);
    if (!files) throw badRequest(`${where}.rubric: file rubrics are not available on this server; send {type: 'text', content}`);
    let body: Readable;
    try {
      body = (await files.open(ctx, fileId)).body;
    } catch (err) {
      if (err instanceof AgentryError && err.status === 404) throw badRequest(`${where}.rubric.file_id: file ${fileId.slice(0, 100)} not found`);
      throw err;
    }
    out.push({ ...e, rubric: { type: 'text', content: await readText(body, where) } });
  }
  return out;
};
