import type { CreatedToken } from '@spyglass/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, keys, problemOf } from '../api';
import { CopyButton } from '../components/CopyButton';
import { Field } from '../components/Field';
import { QueryTable } from '../components/QueryTable';
import { Empty, ErrorAlert } from '../components/States';
import { formatDateTime, relativeTime } from '../lib/format';
import { fieldErrors } from '../lib/issues';

const DAY = 24 * 60 * 60 * 1000;

export function TokensPage() {
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: keys.tokens, queryFn: () => api.tokens.list({ limit: 500 }) });
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const create = useMutation({
    mutationFn: () =>
      api.tokens.create({ name, ...(days === '' ? {} : { expiresAt: Date.now() + Number(days) * DAY }) }),
    onSuccess: async (t) => {
      setCreated(t);
      setName('');
      await queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api.tokens.delete(id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.tokens }),
  });
  const errs = fieldErrors(create.error === null ? undefined : problemOf(create.error).issues, ['name', 'expiresAt']);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setCreated(null);
    create.mutate();
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>API tokens</h1>
        <span className="subtle">For the CLI, scripts and AI assistants; a token acts with your role</span>
      </div>
      <form className="card" onSubmit={submit} noValidate aria-labelledby="new-token">
        <h2 id="new-token">Create a token</h2>
        {create.isError && Object.keys(errs.byField).length === 0 && <ErrorAlert error={create.error} />}
        <div className="row">
          <Field label="Name" errors={errs.byField.name}>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="laptop" />
          </Field>
          <Field label="Expires" errors={errs.byField.expiresAt}>
            <select value={days} onChange={(e) => setDays(e.target.value)}>
              <option value="7">in 7 days</option>
              <option value="30">in 30 days</option>
              <option value="90">in 90 days</option>
              <option value="365">in a year</option>
              <option value="">never</option>
            </select>
          </Field>
          <div className="field">
            <button type="submit" className="primary" disabled={create.isPending}>
              Create token
            </button>
          </div>
        </div>
        {created !== null && (
          <div className="alert ok" role="status">
            Token <strong>{created.name}</strong> created. Copy it now: it is not shown again.
            <div className="secret">
              <code data-testid="new-token">{created.token}</code>
              <CopyButton text={() => created.token} />
            </div>
          </div>
        )}
      </form>
      <ErrorAlert error={revoke.error} />
      <QueryTable
        query={tokens}
        loadingLabel="Loading tokens…"
        empty={<Empty title="No token yet" />}
        columns={[
          { label: 'Name' },
          { label: 'Prefix' },
          { label: 'Created' },
          { label: 'Expires' },
          { label: 'Last used' },
        ]}
        actions
        row={(t) => (
          <tr key={t.id}>
            <td>{t.name}</td>
            <td className="mono">{t.prefix}…</td>
            <td>{formatDateTime(t.createdAt)}</td>
            <td>{t.expiresAt === null ? 'never' : relativeTime(t.expiresAt)}</td>
            <td>{t.lastUsedAt === null ? <span className="subtle">never</span> : relativeTime(t.lastUsedAt)}</td>
            <td>
              <button
                type="button"
                className="small danger"
                onClick={() => {
                  if (window.confirm(`Revoke ${t.name}? Programs using it stop working at once.`)) revoke.mutate(t.id);
                }}
              >
                Revoke
              </button>
            </td>
          </tr>
        )}
      />
    </div>
  );
}
