import { isPlainObject } from './shape.js';

/** What one migration changed in one agent. */
export interface MigrationChange {
  assistant_id: string;
  migration: string;
  changes: string[];
}

interface AgentMigration {
  /** Versioned, applied in this order; each is idempotent (a migrated spec is left alone). */
  id: string;
  apply(spec: Record<string, unknown>, changes: string[]): void;
}

const SHORTHAND = /^\$([A-Za-z_][A-Za-z0-9_.-]{0,127})$/;
type Obj = Record<string, unknown>;
const child = (o: unknown, k: string): Obj | undefined => (isPlainObject(o) && isPlainObject(o[k]) ? o[k] : undefined);

/** Turns `"$NAME"` into `{"$secretRef": "NAME"}` at `o[k]` (a string field that takes secrets). */
const refField = (o: Obj | undefined, k: string, path: string, changes: string[]) => {
  const v = o?.[k];
  if (!o || typeof v !== 'string') return;
  const m = SHORTHAND.exec(v);
  if (!m) return;
  o[k] = { $secretRef: m[1] };
  changes.push(`${path}: "${v}" → {"$secretRef": "${m[1]}"}`);
};
const refMap = (o: Obj | undefined, k: string, path: string, changes: string[]) => {
  const m = child(o, k);
  if (m) for (const key of Object.keys(m)) refField(m, key, `${path}.${key}`, changes);
};
const refList = (o: Obj | undefined, k: string, path: string, changes: string[]) => {
  const list = o?.[k];
  if (!Array.isArray(list)) return;
  list.forEach((v, i) => {
    const m = typeof v === 'string' ? SHORTHAND.exec(v) : null;
    if (m) {
      list[i] = { $secretRef: m[1] };
      changes.push(`${path}[${i}]: "${v}" → {"$secretRef": "${m[1]}"}`);
    }
  });
};

const MIGRATIONS: AgentMigration[] = [
  {
    id: '0001-secret-ref-shorthand',
    apply(spec, changes) {
      const connector = child(child(child(spec, 'response'), 'config'), 'connector');
      for (const k of ['api_key', 'base_url']) refField(connector, k, `response.config.connector.${k}`, changes);
      refMap(connector, 'extra_headers', 'response.config.connector.extra_headers', changes);
      const tools = child(child(spec, 'response'), 'profile')?.tools;
      if (Array.isArray(tools)) {
        tools.forEach((t, i) => {
          if (!isPlainObject(t)) return;
          const p = `response.profile.tools[${i}]`;
          for (const k of ['url', 'auth', 'authorization']) refField(t, k, `${p}.${k}`, changes);
          for (const k of ['env', 'headers', 'extra_headers']) refMap(t, k, `${p}.${k}`, changes);
          refList(t, 'args', `${p}.args`, changes);
        });
      }
      const channels = spec.channels;
      if (Array.isArray(channels)) {
        channels.forEach((c, i) => {
          if (!isPlainObject(c)) return;
          for (const k of Object.keys(c)) if (k.startsWith(`${String(c.provider_id)}_`)) refField(c, k, `channels[${i}].${k}`, changes);
        });
      }
    },
  },
  {
    id: '0002-iteration-limits',
    apply(spec, changes) {
      const profile = child(child(spec, 'response'), 'profile');
      if (!profile) return;
      const legacy: Array<[string, string]> = [
        ['max_iterations', 'max_steps'],
        ['max_iteration_volume', 'max_concurrent_tools'],
      ];
      const strategy = child(profile, 'evaluation_strategy');
      for (const holder of [profile, strategy]) {
        if (!holder) continue;
        const where = holder === profile ? 'response.profile' : 'response.profile.evaluation_strategy';
        for (const [old, now] of legacy) {
          if (!(old in holder)) continue;
          const value = holder[old];
          delete holder[old];
          let target = child(profile, 'evaluation_strategy');
          if (!target) {
            target = { evaluation_strategy_id: 'native' };
            profile.evaluation_strategy = target;
            changes.push(`response.profile.evaluation_strategy: added {"evaluation_strategy_id": "native"} to hold the iteration limits`);
          }
          if (target.evaluation_strategy_id === 'one-shoot') {
            changes.push(`${where}.${old}: removed (the one-shoot strategy makes a single call and takes no ${now})`);
          } else if (now in target) {
            changes.push(`${where}.${old}: removed (evaluation_strategy.${now} is already set)`);
          } else {
            target[now] = value;
            changes.push(`${where}.${old} → response.profile.evaluation_strategy.${now}`);
          }
        }
      }
    },
  },
];

/** The ids of every migration, in order. */
export const migrationIds = (): string[] => MIGRATIONS.map((m) => m.id);

/** Applies every migration to a copy of `spec`; returns the copy and what each migration changed. */
export const migrateSpec = (assistantId: string, spec: Record<string, unknown>): { spec: Record<string, unknown>; changes: MigrationChange[] } => {
  const copy = structuredClone(spec);
  const out: MigrationChange[] = [];
  for (const m of MIGRATIONS) {
    const changes: string[] = [];
    m.apply(copy, changes);
    if (changes.length > 0) out.push({ assistant_id: assistantId, migration: m.id, changes });
  }
  return { spec: copy, changes: out };
};
