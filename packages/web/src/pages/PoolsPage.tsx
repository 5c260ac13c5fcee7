import type { PoolWithKey } from '@spyglass/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { api, keys, problemOf } from '../api';
import { CopyButton } from '../components/CopyButton';
import { Field } from '../components/Field';
import { PoolPolicyEditor } from '../components/PoolPolicyEditor';
import { QueryTable } from '../components/QueryTable';
import { Empty, ErrorAlert } from '../components/States';
import { formatDateTime } from '../lib/format';
import { fieldErrors } from '../lib/issues';
import { useRoleAtLeast } from '../session';

function KeyNotice({ pool, verb }: { pool: PoolWithKey; verb: string }) {
  return (
    <div className="alert ok" role="status">
      Pool <strong>{pool.name}</strong> {verb}. Its registration key is shown only now: agents send it in{' '}
      <code>SPYGLASS_KEY</code>.
      <div className="secret">
        <code data-testid="pool-key">{pool.key}</code>
        <CopyButton text={() => pool.key} />
      </div>
    </div>
  );
}

export function PoolsPage() {
  const isAdmin = useRoleAtLeast('admin');
  const queryClient = useQueryClient();
  const pools = useQuery({ queryKey: keys.pools, queryFn: () => api.pools.list({ limit: 500 }), enabled: isAdmin });
  const [name, setName] = useState('');
  const [shown, setShown] = useState<{ pool: PoolWithKey; verb: string } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const done = (): Promise<void> => queryClient.invalidateQueries({ queryKey: keys.pools });
  const create = useMutation({
    mutationFn: () => api.pools.create({ name }),
    onSuccess: async (p) => {
      setShown({ pool: p, verb: 'created' });
      setName('');
      await done();
    },
  });
  const rotate = useMutation({
    mutationFn: (id: string) => api.pools.rotateKey(id),
    onSuccess: async (p) => {
      setShown({ pool: p, verb: 'has a new key (the old one no longer works)' });
      await done();
    },
  });
  const remove = useMutation({ mutationFn: (id: string) => api.pools.delete(id), onSuccess: done });
  const errs = fieldErrors(create.error === null ? undefined : problemOf(create.error).issues, ['name']);
  if (!isAdmin)
    return (
      <div className="page">
        <Empty title="Admins only">Agent pools are managed by admins.</Empty>
      </div>
    );
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setShown(null);
    create.mutate();
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Agent pools</h1>
        <span className="subtle">Agents register into a pool with its key; actions target a pool</span>
      </div>
      <form className="card" onSubmit={submit} noValidate aria-labelledby="new-pool">
        <h2 id="new-pool">Create a pool</h2>
        {create.isError && Object.keys(errs.byField).length === 0 && <ErrorAlert error={create.error} />}
        <div className="row">
          <Field label="Name" errors={errs.byField.name} hint="Lower-case letters, digits, '.', '_' or '-'">
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="production" />
          </Field>
          <div className="field">
            <button type="submit" className="primary" disabled={create.isPending}>
              Create pool
            </button>
          </div>
        </div>
      </form>
      {shown !== null && <KeyNotice pool={shown.pool} verb={shown.verb} />}
      <ErrorAlert error={rotate.error ?? remove.error} />
      {editing !== null && <PoolPolicyEditor key={editing} pool={editing} onClose={() => setEditing(null)} />}
      <QueryTable
        query={pools}
        loadingLabel="Loading pools…"
        empty={<Empty title="No pool yet">Create one, then start agents with its key.</Empty>}
        columns={[{ label: 'Name' }, { label: 'Key prefix' }, { label: 'Created' }, { label: 'Key rotated' }]}
        actions
        row={(p) => (
          <tr key={p.id}>
            <td>
              <Link to="/agents" search={{ pool: p.name }}>
                {p.name}
              </Link>
            </td>
            <td className="mono">{p.keyPrefix}…</td>
            <td>{formatDateTime(p.createdAt)}</td>
            <td>{formatDateTime(p.keyRotatedAt)}</td>
            <td>
              <div className="inline">
                <button type="button" className="small" onClick={() => setEditing(p.name)}>
                  Policy
                </button>
                <button
                  type="button"
                  className="small"
                  onClick={() => {
                    if (
                      window.confirm(
                        `Rotate the key of ${p.name}? Agents using the old key must be restarted with the new one.`,
                      )
                    )
                      rotate.mutate(p.id);
                  }}
                >
                  Rotate key
                </button>
                <button
                  type="button"
                  className="small danger"
                  onClick={() => {
                    if (window.confirm(`Delete pool ${p.name}? Its agents are disconnected and its actions removed.`))
                      remove.mutate(p.id);
                  }}
                >
                  Delete
                </button>
              </div>
            </td>
          </tr>
        )}
      />
    </div>
  );
}
