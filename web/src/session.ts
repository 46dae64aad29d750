import { useEffect, useState } from 'preact/hooks';

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
    listeners.forEach((l) => l());
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** Re-renders on sign-in and sign-out. */
export const useSession = (): { me: Me | null; checked: boolean } => {
  const [, bump] = useState(0);
  useEffect(() => session.subscribe(() => bump((n) => n + 1)), []);
  return { me: session.me(), checked: session.checked() };
};
