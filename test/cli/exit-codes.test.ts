import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeForStatus, exitCodesHelp } from '../../src/cli/exit-codes.js';
import { assertBuilt, runCli } from './cli-harness.js';

describe('exit codes', () => {
  it('map the HTTP status the CLI got in one place', () => {
    expect([0, 400, 401, 403, 404, 409, 410, 412, 413, 422, 429, 500, 503].map(exitCodeForStatus)).toEqual([6, 1, 3, 3, 4, 5, 4, 5, 1, 1, 1, 1, 1]);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.values(EXIT).length);
  });

  it('are listed in agentry --help', async () => {
    assertBuilt();
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(exitCodesHelp());
    for (const code of Object.values(EXIT)) expect(exitCodesHelp()).toMatch(new RegExp(`^  ${code}  \\S`, 'm'));
    expect(r.stdout).toContain('completion <shell>');
  });
});
