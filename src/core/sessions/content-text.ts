/** The text of a content block list (or of a plain string), its text blocks joined with `separator`. */
export const textOf = (content: unknown, separator = ''): string =>
  Array.isArray(content)
    ? content
        .filter((b): b is { type: string; text: string } => typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'text' && typeof (b as { text?: unknown }).text === 'string')
        .map((b) => b.text)
        .join(separator)
    : typeof content === 'string'
      ? content
      : '';

/** `s` cut to `max` characters, marked with an ellipsis when cut. */
export const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}…` : s);
