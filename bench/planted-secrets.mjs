/**
 * Secrets of every format the publish-time scanner knows, made up at run time from a seeded
 * generator (so no key-shaped literal sits in the repository), each planted in a small text file
 * the way packages carry them, with the line it is on; and stand-ins the scanner must leave alone.
 * Used by test/core/secret-scan.test.ts and bench/secret-scan.mjs.
 */
import { prng } from './corpus.mjs';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B64 = `${ALNUM}+/`;
const URLSAFE = `${ALNUM}-_`;
const HEX = '0123456789abcdef';

const b64url = (s) => Buffer.from(s).toString('base64url');

/**
 * `count` planted secrets: `{ rule, file, text, line }` (line 1-based), cycling through every
 * rule family and several file types.
 */
export const plantedSecrets = (seed = 18, count = 60) => {
  const rnd = prng(seed);
  const pick = (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
  const digits = (n) => pick('0123456789', n);
  const makers = [
    ['aws-access-key-id', 'config.py', () => `import boto3\n\nclient = boto3.client(\n    "s3",\n    aws_access_key_id="${'AKIA'}${pick(UPPER32, 16)}",\n)\n`, 5],
    ['aws-secret-access-key', '.env', () => `AWS_REGION=eu-west-1\naws_secret_access_key=${pick(B64, 40)}\n`, 2],
    ['github-token', 'scripts/release.sh', () => `#!/bin/sh\nexport GH_TOKEN=${'ghp_'}${pick(ALNUM, 36)}\ngh release create v1\n`, 2],
    ['github-token', 'src/client.ts', () => `const octokit = new Octokit({\n  auth: '${'github_pat_'}${pick(ALNUM, 22)}_${pick(ALNUM, 59)}',\n});\n`, 2],
    ['gitlab-token', 'ci/settings.yaml', () => `gitlab:\n  url: https://gitlab.com\n  token: ${'glpat-'}${pick(URLSAFE, 20)}\n`, 3],
    ['slack-token', 'bot.js', () => `// the bot\nconst slack = new WebClient("${'xoxb-'}${digits(11)}-${digits(13)}-${pick(ALNUM, 24)}");\n`, 2],
    ['slack-webhook', 'notify.md', () => `# Notify\n\nPost to https://hooks.slack.com/services/T${pick(UPPER32, 8)}/B${pick(UPPER32, 10)}/${pick(ALNUM, 24)} when done.\n`, 3],
    ['stripe-secret-key', 'payments/index.js', () => `const Stripe = require('stripe');\nconst stripe = Stripe('${'sk_live_'}${pick(ALNUM, 24)}');\n`, 2],
    ['google-api-key', 'maps.html', () => `<html>\n<script src="https://maps.googleapis.com/maps/api/js?key=${'AIza'}${pick(URLSAFE, 35)}"></script>\n</html>\n`, 2],
    ['openai-api-key', 'agent.py', () => `from openai import OpenAI\n\nclient = OpenAI(api_key="${'sk-proj-'}${pick(URLSAFE, 74)}T3BlbkFJ${pick(URLSAFE, 74)}")\n`, 3],
    ['openai-api-key', 'legacy.js', () => `const key = "${'sk-'}${pick(ALNUM, 20)}T3BlbkFJ${pick(ALNUM, 20)}";\n`, 1],
    ['anthropic-api-key', 'prompts/run.sh', () => `curl https://api.anthropic.com/v1/messages \\\n  -H "x-api-key: ${'sk-ant-api03-'}${pick(URLSAFE, 93)}AA" \\\n  -d @body.json\n`, 2],
    ['npm-token', '.npmrc', () => `registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${'npm_'}${pick(ALNUM, 36)}\n`, 2],
    ['huggingface-token', 'download.py', () => `from huggingface_hub import login\nlogin(token="${'hf_'}${pick('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 34)}")\n`, 2],
    ['private-key', 'certs/server.key', () => `-----BEGIN ${'RSA PRIVATE'} KEY-----\n${Array.from({ length: 6 }, () => pick(B64, 64)).join('\n')}\n-----END RSA PRIVATE KEY-----\n`, 1],
    ['private-key', 'src/sign.js', () => `// signs tokens\nconst KEY = '-----BEGIN ${'PRIVATE'} KEY-----\\n${pick(B64, 64)}\\n${pick(B64, 64)}\\n-----END PRIVATE KEY-----\\n';\n`, 2],
    [
      'jwt',
      'test-request.http',
      () =>
        `GET https://api.example.org/me\nAuthorization: Bearer ${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(`{"sub":"${digits(8)}","name":"user${digits(3)}","iat":${digits(10)}}`)}.${pick(URLSAFE, 43)}\n`,
      2,
    ],
    ['high-entropy-assignment', 'src/settings.py', () => `DEBUG = False\nAPI_KEY = "${pick(ALNUM, 32)}"\n`, 2],
    ['high-entropy-assignment', 'config.json', () => `{\n  "name": "x",\n  "client_secret": "${pick(URLSAFE, 40)}"\n}\n`, 3],
    ['high-entropy-assignment', 'deploy/.env.production', () => `NODE_ENV=production\nDB_PASSWORD=${pick(ALNUM, 24)}\n`, 2],
    ['high-entropy-assignment', 'lib/api.ts', () => `export const config = {\n  accessToken: '${pick(HEX, 40)}',\n};\n`, 2],
  ];
  return Array.from({ length: count }, (_, i) => {
    const [rule, file, make, line] = makers[i % makers.length];
    return { rule, file, text: make(), line };
  });
};

/** Lines that look like a secret at a glance but are not: the scanner must flag none of them. */
export const standIns = () => [
  'OPENAI_API_KEY = "sk-..."',
  'export OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'ANTHROPIC_API_KEY="<your-key>"',
  'api_key = "${API_KEY}"',
  'const token = process.env.GITHUB_TOKEN;',
  'password: "{{ vault_password }}"',
  'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
  'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'const apiKey = "your-api-key-here-1234567890";',
  'SECRET_KEY = "changeme-please-0123456789"',
  'token: "sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
  'client_secret: abcdef1234567890abcdef',
  'auth_token = "test_token_1234567890abcd"',
  'password = "correct horse battery staple"',
  "if (pem.startsWith('-----BEGIN PRIVATE KEY-----')) return parse(pem);",
  'const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";',
  'tokenizer: "cl100k_base"',
  'secret_name = "prod/db/credentials-v2"',
  'password_hash = "5f4dcc3b5aa765d61d8327deb882cf99"',
  'api_key_env = "OPENAI_API_KEY_2024"',
];
