import { useLocation } from 'preact-iso';
import { api, ok } from './api/client';
import { ErrorBox, useAction, useAsync } from './ui';

/** What a Run button runs: an agent package (agent.yaml) or an AssistantConfig of one of the caller's agentspaces. */
export type RunTarget = { type: 'package'; name: string; version?: string } | { type: 'agentspace'; agentspace_id: string; assistant_id: string };

/**
 * "Run": starts a session of the target for the signed-in caller (POST /v1/sessions, issue 19) and opens
 * its live view. The environment is one of the caller's (the first by default); for a package, the model
 * card is the package's `config.model` unless the caller picks one of theirs. A choice is only asked for
 * when there is more than one.
 */
export const RunButton = ({ target, label }: { target: RunTarget; label: string }) => {
  const { route } = useLocation();
  const envs = useAsync(() => ok(api.GET('/v1/environments/', { params: { query: { limit: 100 } } })), []);
  const cards = useAsync(() => (target.type === 'package' ? ok(api.GET('/v1/model_cards/', { params: { query: { limit: 100 } } })) : Promise.resolve(undefined)), [target.type]);
  const { busy, error, run } = useAction();
  const envList = envs.data?.data ?? [];
  const cardList = cards.data?.data ?? [];
  return (
    <form
      class="run row"
      aria-label={label}
      onSubmit={(e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        const environment = String(data.get('environment') ?? '') || envList[0]?.id;
        const model = String(data.get('model') ?? '') || undefined;
        void run(async () => {
          const agent = target.type === 'package' ? { ...target, model } : target;
          const s = await ok(api.POST('/v1/sessions/', { body: { agent, environment_id: environment } }));
          route(`/sessions/${encodeURIComponent(s.id)}`);
        });
      }}
    >
      {envList.length > 1 && (
        <label>
          Environment
          <select name="environment">
            {envList.map((en) => (
              <option key={en.id} value={en.id}>
                {en.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {target.type === 'package' && cardList.length > 1 && (
        <label>
          Model card
          <select name="model">
            <option value="">The package’s (config.model)</option>
            {cardList.map((c) => (
              <option key={c.id} value={c.model_id}>
                {c.model_id}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="submit" disabled={busy || !envs.data || envList.length === 0}>
        Run
      </button>
      {envs.data && envList.length === 0 && (
        <p class="muted small">
          Create an environment first (<a href="/managed/environments">Environments</a>).
        </p>
      )}
      {error && <ErrorBox error={error} title="The run could not be started" />}
    </form>
  );
};
