import { badRequest } from '../errors.js';
import { isPlainObject } from '../packages/manifest/fields.js';

/**
 * What an eval runs (issue 14, point 5; OMA's eval runs, `packages/evals-store`): an agent over a
 * set of cases, each case's user messages sent in turn to a new session per trial, optional files
 * written into the session's workspace first, and a verifier that scores the outcome: an exact or
 * regex match of the agent's last message, a bash script run in the session's workspace (exit 0
 * passes), or an LLM judge through one of the account's model cards.
 */
export type Verifier =
  | { type: 'exact'; expected: string; case_sensitive: boolean }
  | { type: 'regex'; pattern: string; flags: string }
  | { type: 'script'; script: string; timeout_ms: number }
  | { type: 'llm_judge'; model: string; criteria: string; pass_threshold: number }
  | { type: 'completion' };

export interface EvalCase {
  id: string;
  /** The user turns, in order: each is the `content` of a user.message. */
  messages: Array<string | Array<Record<string, unknown>>>;
  setup_files: Array<{ path: string; content: string }>;
  trials: number;
  timeout_ms: number;
  verifier: Verifier;
}

export interface EvalSpec {
  name: string | null;
  agent: { type: 'agent'; id: string; version: number };
  environment_id: string;
  cases: EvalCase[];
  /** Trials run at once. */
  concurrency: number;
  metadata: Record<string, string>;
}

export type TrialStatus = 'pending' | 'running' | 'passed' | 'failed' | 'error' | 'cancelled';
export const FINISHED_TRIAL: readonly TrialStatus[] = ['passed', 'failed', 'error'];

export interface TrialResult {
  case_id: string;
  trial: number;
  status: TrialStatus;
  session_id: string | null;
  /** User messages of the case sent so far (a runner that takes the run over goes on from here). */
  messages_sent: number;
  /** 0…1 once scored. */
  score: number | null;
  /** The agent's last message (cut to OUTPUT_MAX characters). */
  output: string | null;
  /** Why it passed or failed, in words (the verifier's or the judge's explanation, or the error). */
  reason: string | null;
  started_at: string | null;
  ended_at: string | null;
}

export const MAX_CASES = 200;
export const MAX_TRIALS_PER_CASE = 10;
export const MAX_TOTAL_TRIALS = 500;
export const MAX_MESSAGES_PER_CASE = 20;
export const MAX_SETUP_FILES = 50;
export const MAX_SETUP_BYTES = 1024 * 1024;
export const MAX_CONCURRENCY = 16;
export const DEFAULT_TIMEOUT_MS = 300_000;
export const MAX_TIMEOUT_MS = 3_600_000;
export const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;
export const MAX_SCRIPT_TIMEOUT_MS = 600_000;
export const OUTPUT_MAX = 4000;
const ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

const str = (v: unknown, field: string, max: number, required = true): string | undefined => {
  if (v === undefined || v === null) {
    if (required) throw badRequest(`${field} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw badRequest(`${field} must be a string`);
  if (required && v.trim() === '') throw badRequest(`${field} must not be empty`);
  if (v.length > max) throw badRequest(`${field} is longer than ${max} characters`);
  return v;
};

const whole = (v: unknown, field: string, min: number, max: number, dflt: number): number => {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badRequest(`${field} must be a whole number from ${min} to ${max}`);
  return v;
};

const message = (m: unknown, field: string): string | Array<Record<string, unknown>> => {
  const content = isPlainObject(m) ? m.content : m;
  if (isPlainObject(m) && m.role !== undefined && m.role !== 'user') throw badRequest(`${field}.role must be 'user' (the agent answers each message)`);
  if (typeof content === 'string') {
    if (content.trim() === '') throw badRequest(`${field} must not be empty`);
    if (content.length > 100_000) throw badRequest(`${field} is longer than 100000 characters`);
    return content;
  }
  if (Array.isArray(content) && content.length > 0 && content.length <= 100 && content.every(isPlainObject)) return content as Array<Record<string, unknown>>;
  throw badRequest(`${field} must be a string, a list of content blocks, or {role: 'user', content}`);
};

const setupFiles = (v: unknown, field: string): Array<{ path: string; content: string }> => {
  if (v === undefined || v === null) return [];
  const entries: Array<[unknown, unknown]> = Array.isArray(v) ? v.map((f) => (isPlainObject(f) ? [f.path, f.content] : [undefined, undefined])) : isPlainObject(v) ? Object.entries(v) : [];
  if (!Array.isArray(v) && !isPlainObject(v)) throw badRequest(`${field} must be a list of {path, content} or an object of path: content`);
  if (entries.length > MAX_SETUP_FILES) throw badRequest(`${field}: at most ${MAX_SETUP_FILES} files`);
  let bytes = 0;
  return entries.map(([path, content], i) => {
    const p = str(path, `${field}[${i}].path`, 500)!;
    if (p.split('/').includes('..') || p.includes('\0')) throw badRequest(`${field}[${i}].path must not contain '..' or NUL`);
    if (typeof content !== 'string') throw badRequest(`${field}[${i}].content must be a string`);
    bytes += Buffer.byteLength(content);
    if (bytes > MAX_SETUP_BYTES) throw badRequest(`${field}: the files are larger than ${MAX_SETUP_BYTES} bytes together`);
    return { path: p, content };
  });
};

export const verifierOf = (v: unknown, field: string): Verifier => {
  if (v === undefined || v === null) return { type: 'completion' };
  if (!isPlainObject(v)) throw badRequest(`${field} must be an object with a type: exact, regex, script or llm_judge`);
  switch (v.type) {
    case 'exact':
      if (v.case_sensitive !== undefined && typeof v.case_sensitive !== 'boolean') throw badRequest(`${field}.case_sensitive must be a boolean`);
      return { type: 'exact', expected: str(v.expected, `${field}.expected`, 100_000, false) ?? missing(`${field}.expected`), case_sensitive: v.case_sensitive !== false };
    case 'regex': {
      const pattern = str(v.pattern, `${field}.pattern`, 1000)!;
      const flags = str(v.flags, `${field}.flags`, 10, false) ?? '';
      if (!/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) throw badRequest(`${field}.flags may hold i, m, s and u, each once`);
      try {
        new RegExp(pattern, flags);
      } catch (e) {
        throw badRequest(`${field}.pattern is not a valid regular expression: ${e instanceof Error ? e.message.slice(0, 200) : 'invalid'}`);
      }
      return { type: 'regex', pattern, flags };
    }
    case 'script':
      return {
        type: 'script',
        script: str(v.script ?? v.command, `${field}.script`, 64 * 1024)!,
        timeout_ms: whole(v.timeout_ms, `${field}.timeout_ms`, 1, MAX_SCRIPT_TIMEOUT_MS, DEFAULT_SCRIPT_TIMEOUT_MS),
      };
    case 'llm_judge': {
      const threshold = v.pass_threshold ?? 0.5;
      if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw badRequest(`${field}.pass_threshold must be a number from 0 to 1`);
      return { type: 'llm_judge', model: str(v.model, `${field}.model`, 128)!, criteria: str(v.criteria ?? v.rubric, `${field}.criteria`, 20_000)!, pass_threshold: threshold };
    }
    default:
      throw badRequest(`${field}.type must be one of exact, regex, script, llm_judge (got ${JSON.stringify(v.type)?.slice(0, 40) ?? 'nothing'})`);
  }
};

const missing = (field: string): never => {
  throw badRequest(`${field} is required`);
};

/** The cases of a request (002's `cases`, OMA's `tasks`), checked; every problem is a 400 naming the field. */
export const casesOf = (raw: unknown, field: string, defaults: { trials: number }): EvalCase[] => {
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest(`${field} must be a non-empty list of cases`);
  if (raw.length > MAX_CASES) throw badRequest(`${field}: at most ${MAX_CASES} cases`);
  const ids = new Set<string>();
  let total = 0;
  const cases = raw.map((c, i): EvalCase => {
    const f = `${field}[${i}]`;
    if (!isPlainObject(c)) throw badRequest(`${f} must be an object`);
    const id = c.id === undefined ? `case-${i + 1}` : str(c.id, `${f}.id`, 128)!;
    if (!ID_RE.test(id)) throw badRequest(`${f}.id may hold letters, digits and _ . : - (1 to 128)`);
    if (ids.has(id)) throw badRequest(`${f}.id '${id}' is used twice`);
    ids.add(id);
    const rawMessages = c.messages ?? (c.prompt !== undefined ? [c.prompt] : undefined);
    if (!Array.isArray(rawMessages) || rawMessages.length === 0) throw badRequest(`${f}.messages must be a non-empty list of user messages`);
    if (rawMessages.length > MAX_MESSAGES_PER_CASE) throw badRequest(`${f}.messages: at most ${MAX_MESSAGES_PER_CASE}`);
    const trials = whole(c.trials, `${f}.trials`, 1, MAX_TRIALS_PER_CASE, defaults.trials);
    total += trials;
    return {
      id,
      messages: rawMessages.map((m, j) => message(m, `${f}.messages[${j}]`)),
      setup_files: setupFiles(c.setup_files, `${f}.setup_files`),
      trials,
      timeout_ms: whole(c.timeout_ms, `${f}.timeout_ms`, 1000, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS),
      verifier: verifierOf(c.verifier ?? c.reward, `${f}.verifier`),
    };
  });
  if (total > MAX_TOTAL_TRIALS) throw badRequest(`${field}: ${total} trials in all; at most ${MAX_TOTAL_TRIALS}`);
  return cases;
};

export const trialsDefault = (v: unknown): number => whole(v, 'trials', 1, MAX_TRIALS_PER_CASE, 1);
export const concurrencyOf = (v: unknown): number => whole(v, 'concurrency', 1, MAX_CONCURRENCY, 4);

/** Tests a pattern against a text; the app gives one that runs off the event loop with a time limit (adapters/regex). */
export type RegexTest = (pattern: string, flags: string, text: string) => Promise<boolean>;

/** In-process: for callers without an isolated one (a slow pattern blocks the process meanwhile). */
export const inProcessRegexTest: RegexTest = async (pattern, flags, text) => new RegExp(pattern, flags).test(text);

/** A case's text answer against an exact or regex verifier. */
export const matchText = async (v: Extract<Verifier, { type: 'exact' | 'regex' }>, output: string, regexTest: RegexTest = inProcessRegexTest): Promise<{ passed: boolean; reason: string }> => {
  if (v.type === 'exact') {
    const a = output.trim();
    const b = v.expected.trim();
    const passed = v.case_sensitive ? a === b : a.toLowerCase() === b.toLowerCase();
    return { passed, reason: passed ? 'the answer equals the expected text' : 'the answer differs from the expected text' };
  }
  const passed = await regexTest(v.pattern, v.flags, output.slice(0, 100_000));
  return { passed, reason: passed ? `the answer matches /${v.pattern}/${v.flags}` : `the answer does not match /${v.pattern}/${v.flags}` };
};

/** The judge's verdict from its answer: a JSON object {"pass": bool, "score": 0…1, "reason": "…"}, or PASS / FAIL on the first line. */
export const parseVerdict = (text: string, threshold: number): { score: number; passed: boolean; reason: string } | undefined => {
  const json = /\{[\s\S]*\}/.exec(text);
  if (json) {
    try {
      const o = JSON.parse(json[0]) as Record<string, unknown>;
      const reason = typeof o.reason === 'string' ? o.reason.slice(0, 2000) : text.slice(0, 2000);
      if (typeof o.score === 'number' && o.score >= 0 && o.score <= 1) return { score: o.score, passed: typeof o.pass === 'boolean' ? o.pass : o.score >= threshold, reason };
      if (typeof o.pass === 'boolean') return { score: o.pass ? 1 : 0, passed: o.pass, reason };
    } catch {
      /* not JSON: try the words */
    }
  }
  const first = text.trim().split(/\r?\n/)[0]?.trim().toUpperCase() ?? '';
  if (/^(PASS|PASSED)\b/.test(first)) return { score: 1, passed: true, reason: text.trim().slice(0, 2000) };
  if (/^(FAIL|FAILED)\b/.test(first)) return { score: 0, passed: false, reason: text.trim().slice(0, 2000) };
  return undefined;
};
