import { useEffect, useRef, useState } from 'preact/hooks';

/** Who is signed in: the token lives in this browser's localStorage, the account comes from /whoami. */
export interface Me {
  username: string;
  display_name: string | null;
  kind: string;
  is_admin: boolean;
  orgs: Array<{ name: string; role: string }>;
  scopes: string[];
  token: { id: number; name: string; permission: 'read' | 'publish' | 'admin' | 'runtime'; scopes: string[] | null; expires_at: string | null };
}

const KEY = 'agentry.token';
type Listener = () => void;
const listeners = new Set<Listener>();
let me: Me | null = null;
let checked = false;
/** Bumped on every change, so a component that subscribes late can tell it missed one. */
let version = 0;

const read = (): string | null => {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
};

export const session = {
  token: read,
  me: (): Me | null => me,
  checked: (): boolean => checked,
  set(token: string | null, who: Me | null) {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
    me = who;
    checked = true;
    version += 1;
    listeners.forEach((l) => l());
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** Re-renders on sign-in and sign-out, including one that happened between its render and its subscription. */
export const useSession = (): { me: Me | null; checked: boolean } => {
  const [, bump] = useState(0);
  const seen = useRef(version);
  seen.current = version;
  useEffect(() => {
    const off = session.subscribe(() => bump((n) => n + 1));
    if (seen.current !== version) bump((n) => n + 1);
    return off;
  }, []);
  return { me: session.me(), checked: session.checked() };
};

/**
 * Who the server sees on a read: the token sent (null when signed out). A read that the signed-in
 * account may change lists it in its deps: it is fetched again on sign-in and sign-out, and not a
 * second time when /whoami answers (which doubled every request of a signed-in page under load).
 */
export const useReader = (): { me: Me | null; reader: string | null } => {
  const { me } = useSession();
  return { me, reader: session.token() };
};
