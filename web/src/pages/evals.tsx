import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok } from '../api/client';
import type { Json } from '../api/types';
import { Badge, Empty, ErrorBox, formatDate, Loading, Table, useAction, useAsync, usePoll } from '../ui';

type EvalRun = Json<'/v1/evals/{id}', 'get'>;
type Trial = EvalRun['cases'][number]['results'][number];

const RUNNING = new Set(['pending', 'running']);
const runTone = (s: EvalRun['status']) => (s === 'completed' ? 'ok' : s === 'failed' ? 'warn' : s === 'cancelled' ? 'muted' : 'info');
const trialTone = (s: Trial['status']) => (s === 'passed' ? 'ok' : s === 'failed' || s === 'error' ? 'warn' : s === 'cancelled' ? 'muted' : 'info');
const percent = (score: number | null) => (score === null ? '—' : `${Math.round(score * 100)}%`);

const EXAMPLE = JSON.stringify(
  [
    { id: 'greets', messages: ['Say hello.'], verifier: { type: 'regex', pattern: 'hello', flags: 'i' } },
    { id: 'adds', messages: ['What is 2 + 2? Answer with the number only.'], verifier: { type: 'exact', expected: '4' } },
  ],
  null,
  2,
);

/** `/managed/evals`: the account's eval runs, newest first, and a form to start one. */
export const Evals = () => {
  const r = useAsync(() => ok(api.GET('/v1/evals/', { params: { query: { limit: 100 } } })), []);
  const rows = r.data?.data ?? [];
  usePoll(
    rows.some((e) => RUNNING.has(e.status)),
    r,
    1500,
  );
  return (
    <>
      <StartEval />
      <h2>Runs</h2>
      {r.error ? (
        <ErrorBox error={r.error} title="Your evals could not be listed" />
      ) : !r.data ? (
        <Loading what="evals" />
      ) : rows.length === 0 ? (
        <Empty title="No evals yet.">Start one above: an eval runs an agent over a set of cases, each trial a session, and scores its answers (exact, regex, a script, or a model as judge).</Empty>
      ) : (
        <Table caption="Evals" columns={['Eval', 'Agent', 'Status', 'Progress', 'Score', 'Started']}>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>
                <a href={`/managed/evals/${encodeURIComponent(e.id)}`}>{e.name ?? e.id}</a>
                <div class="muted small mono">{e.id}</div>
              </td>
              <td>
                <a href={`/managed/agents/${encodeURIComponent(e.agent.id)}`}>{e.agent.id}</a> v{e.agent.version}
              </td>
              <td>
                <Badge tone={runTone(e.status)}>{e.status}</Badge>
              </td>
              <td>
                {e.progress.finished} of {e.progress.total}
              </td>
              <td>{percent(e.score)}</td>
              <td>{formatDate(e.started_at ?? e.created_at)}</td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
};

const StartEval = () => {
  const { route } = useLocation();
  const agents = useAsync(() => ok(api.GET('/v1/agents/', { params: { query: { limit: 100 } } })), []);
  const [agent, setAgent] = useState('');
  const [name, setName] = useState('');
  const [cases, setCases] = useState(EXAMPLE);
  const [trials, setTrials] = useState(1);
  const [invalid, setInvalid] = useState<string>();
  const { busy, error, run } = useAction();
  const list = agents.data?.data ?? [];
  const chosen = agent || list[0]?.id || '';
  if (agents.error) return <ErrorBox error={agents.error} title="Your agents could not be listed" />;
  if (!agents.data) return <Loading what="agents" />;
  if (list.length === 0)
    return (
      <Empty title="An eval needs an agent.">
        Create a managed agent first (<code>POST /v1/agents</code>); then start an eval of it here.
      </Empty>
    );
  return (
    <form
      class="stack"
      aria-label="Start an eval"
      onSubmit={(e) => {
        e.preventDefault();
        let parsed: unknown;
        try {
          parsed = JSON.parse(cases);
        } catch (err) {
          setInvalid(`The cases are not JSON: ${err instanceof Error ? err.message : String(err)}`);
          return;
        }
        if (!Array.isArray(parsed) || parsed.length === 0) {
          setInvalid('The cases must be a JSON array of at least one case.');
          return;
        }
        setInvalid(undefined);
        void run(async () => {
          const made = await ok(api.POST('/v1/evals/', { body: { agent: chosen, name: name.trim() || null, cases: parsed as Array<Record<string, unknown>>, trials } }));
          route(`/managed/evals/${encodeURIComponent(made.id)}`);
        });
      }}
    >
      <h2>Start an eval</h2>
      <div class="row">
        <label>
          Agent
          <select value={chosen} onChange={(e) => setAgent(e.currentTarget.value)}>
            {list.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} (v{a.version})
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input value={name} maxLength={256} placeholder="optional" onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Trials per case
          <input type="number" min={1} max={10} value={trials} onInput={(e) => setTrials(Math.min(10, Math.max(1, Number(e.currentTarget.value) || 1)))} />
        </label>
      </div>
      <label>
        Cases (JSON: each with <code>messages</code> and a <code>verifier</code>)
        <textarea rows={10} class="mono" spellcheck={false} value={cases} onInput={(e) => setCases(e.currentTarget.value)} />
      </label>
      <div class="row">
        <button type="submit" disabled={busy}>
          Start the eval
        </button>
      </div>
      {invalid && (
        <p class="error" role="alert">
          {invalid}
        </p>
      )}
      {error && <ErrorBox error={error} title="The eval was not started" />}
    </form>
  );
};

/** `/managed/evals/:id`: one run's progress (followed while it runs), aggregate score, per-case results; cancel. */
export const EvalPage = ({ id }: { id: string }) => {
  const r = useAsync(() => ok(api.GET('/v1/evals/{id}', { params: { path: { id } } })), [id]);
  const { busy, error, run } = useAction();
  const live = r.data ? RUNNING.has(r.data.status) : false;
  usePoll(live, r, 1000);
  if (r.error) return <ErrorBox error={r.error} title={`Eval ${id} could not be read`} />;
  if (!r.data) return <Loading what="the eval" />;
  const e = r.data;
  const p = e.progress;
  return (
    <article aria-labelledby="eval-title">
      <h1 id="eval-title">
        {e.name ?? e.id} <Badge tone={runTone(e.status)}>{e.status}</Badge>
      </h1>
      <dl class="facts">
        <dt>Id</dt>
        <dd class="mono">{e.id}</dd>
        <dt>Agent</dt>
        <dd>
          <a href={`/managed/agents/${encodeURIComponent(e.agent.id)}`}>{e.agent.id}</a> v{e.agent.version}
        </dd>
        <dt>Score</dt>
        <dd aria-label="Score">{percent(e.score)}</dd>
        <dt>Progress</dt>
        <dd>
          <progress max={p.total} value={p.finished} aria-label="Trials finished" />{' '}
          <span aria-label="Progress">{`${p.finished} of ${p.total} trials finished: ${p.passed} passed, ${p.failed} failed, ${p.errored} errors, ${p.cancelled} cancelled, ${p.running} running, ${p.pending} waiting`}</span>
        </dd>
        <dt>Started</dt>
        <dd>{formatDate(e.started_at ?? e.created_at)}</dd>
        <dt>Ended</dt>
        <dd>{formatDate(e.ended_at)}</dd>
      </dl>
      {e.error && (
        <p class="error" role="alert">
          The run failed: {e.error}
        </p>
      )}
      {live && (
        <div class="row">
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await ok(api.POST('/v1/evals/{id}/cancel', { params: { path: { id } } }));
                r.reload();
              })
            }
          >
            Cancel the eval
          </button>
          <span class="muted small">Following its progress…</span>
        </div>
      )}
      {error && <ErrorBox error={error} title="The eval was not cancelled" />}
      <h2>Cases</h2>
      <Table caption="Cases" columns={['Case', 'Verifier', 'Passed', 'Score']}>
        {e.cases.map((c) => (
          <tr key={c.id}>
            <td class="mono">{c.id}</td>
            <td>{c.verifier}</td>
            <td>
              {c.passed} of {c.trials}
            </td>
            <td>{percent(c.score)}</td>
          </tr>
        ))}
      </Table>
      <h2>Trials</h2>
      <Table caption="Trials" columns={['Case', 'Trial', 'Status', 'Score', 'Why', 'Answer', 'Session']}>
        {e.cases.flatMap((c) =>
          c.results.map((t) => (
            <tr key={`${c.id}-${t.trial}`}>
              <td class="mono">{c.id}</td>
              <td>{t.trial}</td>
              <td>
                <Badge tone={trialTone(t.status)}>{t.status}</Badge>
              </td>
              <td>{percent(t.score)}</td>
              <td>{t.reason ?? '—'}</td>
              <td>
                {t.output ? (
                  <details>
                    <summary>Answer of {c.id}</summary>
                    <pre tabIndex={0}>{t.output}</pre>
                  </details>
                ) : (
                  '—'
                )}
              </td>
              <td>{t.session_id ? <a href={`/sessions/${encodeURIComponent(t.session_id)}`}>{t.session_id}</a> : '—'}</td>
            </tr>
          )),
        )}
      </Table>
    </article>
  );
};
