/**
 * The publish-time secret scanner: finds what looks like a plaintext credential in a package's
 * text files, so a publish carrying one is refused (422) naming the file and line. Pure: it reads
 * only the bytes it is given, and never repeats a secret (a hit shows its rule and a redacted prefix).
 *
 * Two families of rules:
 * - known key formats (cloud, source-hosting, chat, payment and model-provider keys, private key
 *   PEM blocks, signed JWTs given as a bearer token or assigned), and
 * - high-entropy assignments: a value of 16+ characters with a Shannon entropy of at least
 *   {@link MIN_ENTROPY} bits a character (3.0 for 32+ hex digits; 4.0, mixed case, for letters
 *   alone), quoted, or bare on a `.env`/YAML line, assigned to a name ending in
 *   `key`, `secret`, `token`, `password`… (`API_KEY = "…"`, `"client_secret": "…"`, `token: '…'`).
 * Obvious placeholders (`xxxx`, `<your-key>`, `${VAR}`, `process.env.X`, `sk-...`, values spelling
 * `example`, `dummy`, `changeme`, `secret`…, runs like `abcdef` or `123456`) are not secrets. A line carrying
 * {@link ALLOW_SECRET} (or following a line carrying it) is not scanned. Binary files (a NUL byte in
 * their first 8 KiB, or a binary file extension) are skipped. Work is bounded: only the first
 * {@link SECRET_SCAN_LIMITS}.maxBytesPerFile of a file and maxTotalBytes of a package are read.
 */
import { unprocessable, type AgentryError } from '../errors.js';

/** The comment that marks a line (or the line after it) as holding no secret. */
export const ALLOW_SECRET = 'agentry:allow-secret';

export const SECRET_SCAN_LIMITS = {
  /** Bytes of one file that are scanned (its head); the rest is not read. */
  maxBytesPerFile: 1024 * 1024,
  /** Bytes of one package that are scanned, all files together; later files are not read. */
  maxTotalBytes: 16 * 1024 * 1024,
  /** Hits reported at most (a publish is refused on the first anyway). */
  maxHits: 20,
} as const;

/** Bits of Shannon entropy per character an assigned value needs to count as a secret. */
export const MIN_ENTROPY = 3.5;
/** The same for a hex value (of 32+ digits: a 128-bit key or more), whose alphabet is 16 characters. */
const MIN_HEX_ENTROPY = 3.0;
/** The same for a value of letters only, which must not be a word or an identifier in CamelCase. */
const MIN_LETTERS_ENTROPY = 4.0;

export interface SecretHit {
  file: string;
  /** 1-based. */
  line: number;
  /** The rule that matched (`aws-access-key-id`, `high-entropy-assignment`, …). */
  rule: string;
  /** The first characters of the match (a key's fixed prefix), never the secret itself: `AKIA…`. */
  redacted: string;
}

interface Rule {
  id: string;
  re: RegExp;
  /** Characters of the match that may be shown (the format's fixed prefix); negative: all but that many at the end. */
  shown: number;
  /** Further check of a match (index into `text`); false drops it. */
  accept?: (match: RegExpExecArray, text: string) => boolean;
}

const PLACEHOLDER_WORDS = [
  'xxxx',
  'your',
  'example',
  'placeholder',
  'dummy',
  'changeme',
  'change_me',
  'change-me',
  'replace',
  'sample',
  'fake',
  'redacted',
  'insert',
  'todo',
  'mock',
  'test',
  'secret',
  'password',
  'token',
];
const SEQUENCES = ['abcdef', 'bcdefg', '123456', '234567', '012345', '987654', 'qwerty', 'aaaaaa', '000000', '111111'];

/** A value that is a stand-in for a secret rather than one: `xxxx`, `<your-key>`, `${VAR}`, `abcdef123456`, `sk-...`. */
export const isPlaceholder = (value: string): boolean => {
  const v = value.toLowerCase();
  // Words as people type them (xxxx, XXXX, Your); a random key holds one in mixed case by chance (xXxX).
  if (PLACEHOLDER_WORDS.some((w) => value.includes(w) || value.includes(w.toUpperCase()) || value.includes(w[0].toUpperCase() + w.slice(1)))) return true;
  if (SEQUENCES.some((s) => v.includes(s))) return true;
  if (/[<>{}[\]()$%]|\.\.\.|\*\*\*|…/.test(v)) return true;
  return /(.)\1{5,}/.test(v);
};

/** Shannon entropy of a string, in bits per character. */
export const shannonEntropy = (s: string): number => {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
};

/** A known format whose random part still has to look random (not `AKIAAAAAAAAAAAAAAAAA`). */
const randomEnough =
  (prefix: number, min = 3) =>
  (m: RegExpExecArray) =>
    !isPlaceholder(m[0]) && shannonEntropy(m[0].slice(prefix)) >= min;

/** The text of the line holding `index`, and where it starts. */
const lineAround = (text: string, index: number): { start: number; line: string } => {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const end = text.indexOf('\n', index);
  return { start, line: text.slice(start, end === -1 ? undefined : end) };
};

const JWT_EXAMPLES = ['SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'];

/** A JWT counts only where it is handed over as a credential: after `Bearer`, or assigned / passed as a quoted value. */
const jwtInUse = (m: RegExpExecArray, text: string): boolean => {
  if (JWT_EXAMPLES.some((e) => m[0].endsWith(e))) return false;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(m[0].slice(0, m[0].indexOf('.')), 'base64url').toString('utf8'));
  } catch {
    return false;
  }
  if (typeof header !== 'object' || header === null || !('alg' in header)) return false;
  const before = text.slice(Math.max(0, m.index - 40), m.index);
  return /bearer\s+$/i.test(before) || /[:=]\s*["'`]?$/.test(before) || /["'`]$/.test(before);
};

/** A PEM header counts only when key material follows it (not code that looks for the header). */
const pemBodyFollows = (m: RegExpExecArray, text: string): boolean => {
  const after = text.slice(m.index + m[0].length, m.index + m[0].length + 400);
  const body = after.replace(/\\[rn]|["'`+,\s]|Proc-Type:[^\n\\]*|DEK-Info:[^\n\\]*/g, '');
  return /^[A-Za-z0-9+/]{40}/.test(body) && !isPlaceholder(body.slice(0, 64));
};

const KNOWN_FORMATS: Rule[] = [
  { id: 'aws-access-key-id', re: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}\b/g, shown: 4, accept: randomEnough(4, 2.5) },
  {
    id: 'aws-secret-access-key',
    re: /aws_?secret_?access_?key["'`]?\s{0,4}[:=]\s{0,4}["'`]?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi,
    shown: -40,
    accept: (m) => !isPlaceholder(m[0].slice(-40)) && shannonEntropy(m[0].slice(-40)) >= 3,
  },
  { id: 'github-token', re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b/g, shown: 4, accept: randomEnough(4) },
  { id: 'github-token', re: /\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b/g, shown: 11, accept: randomEnough(11) },
  { id: 'gitlab-token', re: /\bgl(?:pat|dt|rt|ptt|cbt|imt|ft|soat)-[A-Za-z0-9_-]{20,64}(?![A-Za-z0-9_-])/g, shown: 6, accept: randomEnough(6) },
  { id: 'slack-token', re: /\bxox[abposr]-\d{6,}-[A-Za-z0-9-]{10,}/g, shown: 5, accept: randomEnough(5) },
  { id: 'slack-token', re: /\bxapp-\d-[A-Z0-9]{8,}-\d{6,}-[a-f0-9]{32,}/g, shown: 5, accept: randomEnough(5) },
  { id: 'slack-webhook', re: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/T[A-Z0-9]{6,}\/[AB][A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g, shown: 24, accept: randomEnough(24) },
  { id: 'stripe-secret-key', re: /\b(?:sk|rk)_live_[A-Za-z0-9]{20,128}\b/g, shown: 8, accept: randomEnough(8) },
  { id: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g, shown: 4, accept: randomEnough(4) },
  { id: 'anthropic-api-key', re: /\bsk-ant-[A-Za-z0-9_-]{32,200}(?![A-Za-z0-9_-])/g, shown: 7, accept: randomEnough(7) },
  { id: 'openai-api-key', re: /\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}(?![A-Za-z0-9_-])/g, shown: 8, accept: randomEnough(8) },
  { id: 'openai-api-key', re: /\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b|\bsk-[A-Za-z0-9]{48}\b/g, shown: 3, accept: randomEnough(3) },
  { id: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g, shown: 4, accept: randomEnough(4) },
  { id: 'huggingface-token', re: /\bhf_[A-Za-z]{34}\b/g, shown: 3, accept: randomEnough(3) },
  { id: 'private-key', re: /-----BEGIN[ A-Z0-9]{0,30} PRIVATE KEY(?: BLOCK)?-----/g, shown: 10, accept: pemBodyFollows },
  { id: 'jwt', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}/g, shown: 3, accept: jwtInUse },
];

/** Names whose value is a credential: the identifier ends with one of these. */
const SECRET_NAME =
  /(?:api[_-]?key|apikey|secret|secret[_-]?key|token|passw(?:or)?d|passwd|pwd|access[_-]?key|private[_-]?key|credentials?|auth[_-]?key)["'`]?\s{0,4}(?::=|=>|=|:)\s{0,4}(["'`]?)([A-Za-z0-9+/=_.~!@#%^&*:-]{16,200})\1(?![A-Za-z0-9+/=_.~!@#%^&*:-])/gi;
/** What may come before the name on its line for an unquoted value (`.env` and YAML: `export API_KEY=…`, `api_key: …`). */
const BARE_VALUE_LINE = /^\s*(?:export\s+|-\s+)?["']?[A-Za-z0-9_.-]*$/;

const highEntropyAssignment = (m: RegExpExecArray, text: string): boolean => {
  const value = m[2];
  const nameStart = m.index;
  // The name must end at the keyword (…_TOKEN =) and be an identifier (…Token), not the tail of a longer word.
  const { start, line } = lineAround(text, nameStart);
  const head = line.slice(0, nameStart - start);
  const name = (/[A-Za-z0-9_.-]*$/.exec(head)?.[0] ?? '') + m[0].slice(0, m[0].search(/["'`]?\s{0,4}(?::=|=>|=|:)/));
  if (/(?:public|publishable|_url|_path|_file|_name|_type|_id|_env|hash|integrity|next|continuation|page|cursor|progress|sync|csrf)/i.test(name)) return false;
  if (m[1] === '') {
    // A bare value is a config line's whole value (`KEY=value`, `key: value`, maybe a comment after), not code (`x = a.b(c);`).
    const rest = line.slice(m.index + m[0].length - start);
    if (!BARE_VALUE_LINE.test(head) || !/^\s*(?:#.*)?\r?$/.test(rest) || /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(value)) return false;
  }
  if (!/[A-Za-z]/.test(value)) return false;
  if (isPlaceholder(value) || /^(?:process\.env|os\.environ|env\.|import\.meta)/i.test(value) || /^[a-z]+(?:[._:-][a-z0-9]+)+$/.test(value)) return false;
  // A version, a date, a UUID of all-zero style, or a path is not a secret.
  if (/^\d+(?:\.\d+)+/.test(value) || /^\d{4}-\d{2}-\d{2}/.test(value) || /^(?:https?:|\/|\.\/)/.test(value)) return false;
  const entropy = shannonEntropy(value);
  // Hex carries 4 bits a character at most; letters alone must look random (mixed case, high entropy), not be words.
  if (/^[0-9a-f]+$/i.test(value)) return value.length >= 32 && entropy >= MIN_HEX_ENTROPY;
  if (!/[0-9]/.test(value)) return /[a-z]/.test(value) && /[A-Z]/.test(value) && entropy >= MIN_LETTERS_ENTROPY;
  return entropy >= MIN_ENTROPY;
};

/** Rules run together: one regular expression (an alternation of theirs, each a named group) is one pass over the text. */
interface Pass {
  re: RegExp;
  rules: Rule[];
}

const together = (rules: Rule[]): Pass => ({ re: new RegExp(rules.map((r, i) => `(?<r${i}>${r.re.source})`).join('|'), 'g'), rules });

/** Every case-sensitive format in one pass (several times faster than one pass each); then the case-insensitive rules. */
const PASSES: Pass[] = [
  together(KNOWN_FORMATS.filter((r) => !r.re.ignoreCase)),
  ...KNOWN_FORMATS.filter((r) => r.re.ignoreCase).map((r) => ({ re: r.re, rules: [r] })),
  { re: SECRET_NAME, rules: [{ id: 'high-entropy-assignment', re: SECRET_NAME, shown: 0, accept: highEntropyAssignment }] },
];

const ruleOf = (pass: Pass, m: RegExpExecArray): Rule => {
  if (pass.rules.length === 1) return pass.rules[0];
  const i = Object.entries(m.groups ?? {}).find(([, v]) => v !== undefined)![0];
  return pass.rules[Number(i.slice(1))];
};

const BINARY_EXTENSIONS =
  /\.(?:png|jpe?g|gif|bmp|ico|webp|avif|tiff?|psd|pdf|zip|gz|tgz|bz2|xz|zst|7z|rar|tar|jar|war|class|wasm|woff2?|ttf|otf|eot|mp[34]|m4a|wav|ogg|flac|mov|avi|webm|so|dylib|dll|exe|node|bin|o|a|pyc|pyo|sqlite|db|onnx|pt|safetensors|npy|pb)$/i;

/** A file the scanner does not read: a binary extension, or a NUL byte in its first 8 KiB (as git decides). */
export const isBinaryFile = (path: string, head: Uint8Array): boolean => BINARY_EXTENSIONS.test(path) || head.subarray(0, 8192).includes(0);

/** The start offset of every line of `text`, for turning a match's index into a line number. */
const lineStarts = (text: string): number[] => {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
};

const lineOf = (starts: number[], index: number): number => {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
};

/** What a hit shows of its match: a known format's fixed prefix; for an assignment, the name's keyword and two characters of the value. */
const redact = (m: RegExpExecArray, rule: Rule): string =>
  rule.id === 'high-entropy-assignment' ? `${m[0].slice(0, m[0].search(/["'`]?\s{0,4}(?::=|=>|=|:)/))} = ${m[2].slice(0, 2)}…` : `${m[0].slice(0, rule.shown).trimEnd()}…`;

/** Every secret-looking string in one text file, in order of position (at most `maxHits`). */
export const scanText = (file: string, text: string, maxHits: number = SECRET_SCAN_LIMITS.maxHits): SecretHit[] => {
  const found: Array<SecretHit & { index: number }> = [];
  let starts: number[] | undefined;
  const allowed = text.includes(ALLOW_SECRET);
  for (const pass of PASSES) {
    const re = pass.re;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const rule = ruleOf(pass, m);
      if (rule.accept && !rule.accept(m, text)) {
        // Another rule may match from the next character on (overlapping matches).
        re.lastIndex = m.index + 1;
        continue;
      }
      starts ??= lineStarts(text);
      const line = lineOf(starts, m.index);
      if (allowed) {
        const from = starts[Math.max(0, line - 2)];
        const to = line < starts.length ? starts[line] : text.length;
        if (text.slice(from, to).includes(ALLOW_SECRET)) continue;
      }
      // One hit a line: an assigned key of a known format is reported by its format only.
      if (found.some((f) => f.line === line)) continue;
      found.push({ file, line, rule: rule.id, redacted: redact(m, rule), index: m.index });
      if (found.length >= maxHits) break;
    }
    if (found.length >= maxHits) break;
  }
  return found.sort((a, b) => a.index - b.index).map(({ index: _index, ...hit }) => hit);
};

const UTF8 = new TextDecoder();

/** Scans the files of one package, in the order given, within {@link SECRET_SCAN_LIMITS}. */
export class SecretScan {
  readonly hits: SecretHit[] = [];
  scannedBytes = 0;
  skippedBinary = 0;

  constructor(private readonly limits: { maxBytesPerFile: number; maxTotalBytes: number; maxHits: number } = SECRET_SCAN_LIMITS) {}

  /** How many bytes of the next file are worth reading (0 once the package's budget is spent). */
  wants(): number {
    return Math.max(0, Math.min(this.limits.maxBytesPerFile, this.limits.maxTotalBytes - this.scannedBytes));
  }

  /** Scans a file's head (its first `wants()` bytes; more are ignored). */
  file(path: string, head: Uint8Array): void {
    const bytes = head.subarray(0, this.wants());
    if (bytes.length === 0 || this.hits.length >= this.limits.maxHits) return;
    if (isBinaryFile(path, bytes)) {
      this.skippedBinary += 1;
      return;
    }
    this.scannedBytes += bytes.length;
    this.hits.push(...scanText(path, UTF8.decode(bytes), this.limits.maxHits - this.hits.length));
  }
}

/** The 422 a publish carrying secrets gets: one detail a hit, naming the file, line and rule, never the secret. */
export const secretsRefusal = (hits: SecretHit[]): AgentryError =>
  unprocessable(
    `The package holds what looks like a plaintext secret (${hits.length === 1 ? '1 place' : `${hits.length} places`}). Remove it and use a secret reference, or, if it is not a secret, add the comment '${ALLOW_SECRET}' on that line or the line before`,
    hits.map((h) => `${h.file}:${h.line}: ${h.rule} (${h.redacted})`),
  );

/** Refuses (422) files already in memory (a managed skill's upload) when any holds a secret. */
export const refuseSecrets = (files: Iterable<{ path: string; data: Uint8Array }>): void => {
  const scan = new SecretScan();
  for (const f of files) scan.file(f.path, f.data);
  if (scan.hits.length > 0) throw secretsRefusal(scan.hits);
};
