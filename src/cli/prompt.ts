import { createInterface } from 'node:readline';
import { CliError } from './cli-error.js';

/**
 * Reads a secret: on a TTY it prompts on stderr and reads keystrokes without echoing them;
 * otherwise it reads the first line of stdin (`echo $TOKEN | agentry login`).
 */
export const readSecret = async (question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> => {
  if (input.isTTY) return readHidden(question, input, output);
  return readFirstLine(input);
};

const readFirstLine = (input: NodeJS.ReadStream): Promise<string> =>
  new Promise((resolve) => {
    const rl = createInterface({ input, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      input.pause();
      resolve(line.trim());
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });

const readHidden = (question: string, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<string> =>
  new Promise((resolve, reject) => {
    output.write(question);
    let value = '';
    const done = (error?: CliError): void => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (error) reject(error);
      else resolve(value.trim());
    };
    const onData = (data: Buffer): void => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
