import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSecret } from '../../src/cli/prompt.js';

/** A stand-in for a terminal: a stream with isTTY and setRawMode. */
const fakeTty = () => {
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    rawMode: false,
    setRawMode(on: boolean) {
      input.rawMode = on;
      return input;
    },
  });
  const output = Object.assign(new PassThrough(), { isTTY: true });
  let shown = '';
  output.on('data', (c: Buffer) => (shown += c.toString()));
  return { input, output, shown: () => shown };
};

describe('reading a token', () => {
  it('prompts on a terminal without echoing, handling backspace', async () => {
    const t = fakeTty();
    const answer = readSecret('Token: ', t.input as unknown as NodeJS.ReadStream, t.output as unknown as NodeJS.WriteStream);
    expect(t.input.rawMode).toBe(true);
    t.input.write('agentry_ab');
    t.input.write('\u007fc\r');
    expect(await answer).toBe('agentry_ac');
    expect(t.input.rawMode).toBe(false);
    expect(t.shown()).toBe('Token: \n');
  });

  it('gives up on Ctrl-C', async () => {
    const t = fakeTty();
    const answer = readSecret('Token: ', t.input as unknown as NodeJS.ReadStream, t.output as unknown as NodeJS.WriteStream);
    t.input.write('abc\u0003');
    await expect(answer).rejects.toThrow('cancelled');
    expect(t.input.rawMode).toBe(false);
  });

  it('reads the first line of stdin when it is not a terminal', async () => {
    const input = new PassThrough();
    const answer = readSecret('Token: ', input as unknown as NodeJS.ReadStream);
    input.end('  agentry_xyz  \nsecond line\n');
    expect(await answer).toBe('agentry_xyz');
  });
});
