/** Everything a command prints on stdout: JSON for scripts (`--json`) or lines and tables for people. */

export const writeLine = (text = ''): void => {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
};

/** A warning for people, on stderr (stdout stays the command's result). */
export const writeWarning = (text: string): void => {
  process.stderr.write(`warning: ${text}\n`);
};

export const printJson = (value: unknown): void => {
  writeLine(JSON.stringify(value, null, 2));
};

/** Prints `json` as JSON when asked, else the human lines `human()` returns. */
export const printResult = (json: boolean, value: unknown, human: () => string | string[]): void => {
  if (json) {
    printJson(value);
    return;
  }
  const text = human();
  for (const line of Array.isArray(text) ? text : [text]) writeLine(line);
};

/** A plain-text table: a header row, then one row per item, columns padded to the widest cell. */
export const renderTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
};

/** Shortens text to `max` characters with an ellipsis. */
export const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text);

/** 1234567 → `1.2 MB`. */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
};

/** An ISO timestamp as `YYYY-MM-DD HH:MM` (UTC), or `-` when absent. */
export const formatDate = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').slice(0, 16) : '-');
