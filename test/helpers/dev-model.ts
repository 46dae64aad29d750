import { startDevModel, type DevModel, type DevModelOptions } from '../../src/dev-model/server.js';

/**
 * The model provider for tests: the shipped dev model (src/dev-model, `agentry dev-model`) on
 * 127.0.0.1 and a free port. Script it per test with `model.script([...turns])`, read what it
 * received in `model.requests`, and `model.reset()` between tests.
 */
export type { DevModel } from '../../src/dev-model/server.js';
export type { Turn } from '../../src/dev-model/turn.js';

export const startTestModel = (options: Omit<DevModelOptions, 'host' | 'port'> = {}): Promise<DevModel> => startDevModel({ ...options, host: '127.0.0.1', port: 0 });

/** Reads an SSE body into its frames: the `event:` name (or null) and the `data:` text. */
export const sseFrames = async (res: Response): Promise<Array<{ event: string | null; data: string }>> => {
  const text = await res.text();
  return text
    .split(/\r?\n\r?\n/)
    .filter((f) => f.trim() !== '')
    .map((frame) => {
      let event: string | null = null;
      const data: string[] = [];
      for (const line of frame.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      return { event, data: data.join('\n') };
    });
};
