import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api/client';

export interface Async<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` whenever `deps` change; keeps the last answer while the next one loads. */
export const useAsync = <T,>(load: () => Promise<T>, deps: unknown[]): Async<T> => {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e: unknown) => live && setState({ error: e instanceof ApiError ? e : new ApiError(0, String(e instanceof Error ? e.message : e)), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
};

export const Loading = ({ what }: { what?: string }) => (
  <p class="muted" role="status" aria-live="polite">
    Loading{what ? ` ${what}` : ''}…
  </p>
);

/** An error in words, with what to do about it when the status says. */
export const ErrorBox = ({ error, title }: { error: ApiError; title?: string }) => {
  const hint =
    error.status === 401 ? 'Sign in with a token on the Account page, then try again.'
    : error.status === 403 ? 'Your token does not allow this. A token with more permission (or an owner of the scope) can do it.'
    : error.status === 404 ? 'It does not exist, or it is not visible to you. Check the name, or sign in.'
    : error.status >= 500 ? 'The server failed. Try again; if it keeps failing, the server log names this request.'
    : undefined;
  return (
    <div class="error" role="alert">
      <strong>{title ?? 'Something went wrong'}:</strong> {error.message}
      {error.details.length > 0 && (
        <ul>
          {error.details.map((d) => (
            <li key={d}>{d}</li>
          ))}
        </ul>
      )}
      {hint && <p class="hint">{hint}</p>}
    </div>
  );
};

/** An empty state that says what to do next. */
export const Empty = ({ title, children }: { title: string; children?: ComponentChildren }) => (
  <div class="empty">
    <p>
      <strong>{title}</strong>
    </p>
    {children && <div class="muted">{children}</div>}
  </div>
);

export const Badge = ({ tone, children, title }: { tone?: 'ok' | 'warn' | 'info' | 'muted'; children: ComponentChildren; title?: string }) => (
  <span class={`badge ${tone ?? 'info'}`} title={title}>
    {children}
  </span>
);

export const formatBytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);
export const formatDate = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }) : '—');
export const formatCount = (n: number): string => new Intl.NumberFormat(undefined, { notation: n >= 10000 ? 'compact' : 'standard' }).format(n);

/** A copyable snippet. */
export const Snippet = ({ label, text }: { label: string; text: string }) => {
  const [copied, setCopied] = useState(false);
  return (
    <figure class="snippet">
      <figcaption>
        {label}
        <button
          type="button"
          class="link"
          aria-label={`Copy: ${label}`}
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            });
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </figcaption>
      <pre>
        <code>{text}</code>
      </pre>
    </figure>
  );
};

/** Previous / next page links for a list with `total`, `page`, `limit`. */
export const Pager = ({ page, limit, total, href }: { page: number; limit: number; total: number; href: (page: number) => string }) => {
  const pages = Math.max(1, Math.ceil(total / limit));
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label="Pages">
      {page > 1 ? <a href={href(page - 1)} rel="prev">← Previous</a> : <span class="muted">← Previous</span>}
      <span>
        Page {page} of {pages}
      </span>
      {page < pages ? <a href={href(page + 1)} rel="next">Next →</a> : <span class="muted">Next →</span>}
    </nav>
  );
};

export const useTitle = (title: string): void => {
  useEffect(() => {
    document.title = title ? `${title} · Agentry` : 'Agentry';
  }, [title]);
};

/** A table with a caption (for screen readers) and column headers; `children` are its body rows. */
export const Table = ({ caption, columns, children }: { caption: string; columns: Array<string | { hidden: string }>; children: ComponentChildren }) => (
  // Focusable and named, so a table wider than the page can be scrolled with the keyboard.
  <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
    <table>
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) =>
            typeof c === 'string' ? (
              <th scope="col" key={c}>
                {c}
              </th>
            ) : (
              <th scope="col" key={c.hidden}>
                <span class="sr-only">{c.hidden}</span>
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  </div>
);

/** Runs an action, keeps its error in words, and says when it is busy. */
export const useAction = () => {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const run = async (fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e instanceof Error ? e.message : e)));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
};

/**
 * Loads `r` again `ms` after each answer while `live` holds (something that changes by itself, such as
 * a running eval or a starting workload). The next look waits for the last answer, so a server slower
 * than `ms` is never asked again before it answered (an interval would drop every answer then).
 */
export const usePoll = (live: boolean, r: { loading: boolean; reload: () => void }, ms: number): void => {
  useEffect(() => {
    if (!live || r.loading) return undefined;
    const t = setTimeout(r.reload, ms);
    return () => clearTimeout(t);
  }, [live, r.loading]);
};
