/** The side navigation of the managed agents console. */
export const SECTIONS = [
  ['agents', 'Agents'],
  ['sessions', 'Sessions'],
  ['environments', 'Environments'],
  ['vaults', 'Vaults'],
  ['model-cards', 'Model cards'],
  ['memory-stores', 'Memory stores'],
  ['files', 'Files'],
  ['evals', 'Evals'],
  ['integrations', 'Integrations'],
] as const;
export type Section = (typeof SECTIONS)[number][0];

export const ManagedNav = ({ current }: { current: Section }) => (
  <nav class="side" aria-label="Managed agents">
    <ul class="plain">
      {SECTIONS.map(([s, label]) => (
        <li key={s}>
          <a href={s === 'sessions' ? '/sessions' : `/managed/${s}`} aria-current={s === current ? 'page' : undefined}>
            {label}
          </a>
        </li>
      ))}
    </ul>
  </nav>
);
