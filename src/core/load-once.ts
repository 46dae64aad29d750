/**
 * A lazily loaded module (or anything expensive made once): the first call starts `load`, every
 * later call shares its promise. A failed load (a broken install) is tried again by the next
 * caller, not remembered. How a server keeps libraries it may never need (the MCP SDK and zod,
 * about 10 MB of heap) out of its start-up.
 */
export const loadOnce = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let loaded: Promise<T> | undefined;
  return () => {
    if (!loaded) {
      const p = load();
      loaded = p;
      p.catch(() => {
        if (loaded === p) loaded = undefined;
      });
    }
    return loaded;
  };
};
