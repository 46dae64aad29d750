import { describe, expect, it } from 'vitest';
import { ProgressBar, renderProgress } from '../../src/cli/progress.js';

class FakeStream {
  written = '';
  constructor(readonly isTTY: boolean) {}
  write(text: string): boolean {
    this.written += text;
    return true;
  }
}

describe('upload progress', () => {
  it('renders bytes sent, total and percent', () => {
    expect(renderProgress('Uploading', 0, 2048, 10)).toBe('Uploading [----------]   0%  0 B / 2.0 kB');
    expect(renderProgress('Uploading', 1024, 2048, 10)).toBe('Uploading [#####-----]  50%  1.0 kB / 2.0 kB');
    expect(renderProgress('Uploading', 3 * 1024 * 1024, 3 * 1024 * 1024, 10)).toBe('Uploading [##########] 100%  3.0 MB / 3.0 MB');
  });

  it('draws in place on a TTY and ends the line', () => {
    let t = 0;
    const stream = new FakeStream(true);
    const bar = new ProgressBar('Up', 1000, stream, () => t);
    bar.advance(100);
    t += 10;
    bar.advance(100); // too soon: skipped
    t += 100;
    bar.advance(300);
    t += 100;
    bar.advance(500);
    bar.finish();
    const frames = stream.written.split('\r').filter(Boolean);
    expect(frames.map((f) => f.replaceAll('\x1b[K', '').trim().replace(/\s+/g, ' '))).toEqual([
      `Up [${'#'.repeat(3)}${'-'.repeat(27)}] 10% 100 B / 1000 B`,
      `Up [${'#'.repeat(15)}${'-'.repeat(15)}] 50% 500 B / 1000 B`,
      `Up [${'#'.repeat(30)}] 100% 1000 B / 1000 B`,
    ]);
    expect(stream.written.endsWith('\n')).toBe(true);
  });

  it('stays silent when the stream is not a TTY', () => {
    const stream = new FakeStream(false);
    const bar = new ProgressBar('Up', 10, stream);
    bar.advance(10);
    bar.finish();
    bar.clear();
    expect(stream.written).toBe('');
  });
});
