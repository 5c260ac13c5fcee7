import { ROLES, USER_ROLES, type ListedUser, type Role, type User, type UserRole } from '@spyglass/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, keys, problemOf } from '../api';
import { StateBadge } from '../components/Badges';
import { Field } from '../components/Field';
import { QueryTable } from '../components/QueryTable';
import { Empty, ErrorAlert } from '../components/States';
import { formatDateTime, formatTime } from '../lib/format';
import { fieldErrors } from '../lib/issues';
import { useRoleAtLeast, useSession } from '../session';

function CreateUser() {
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ email: '', name: '', role: 'developer' as UserRole, password: '' });
  const create = useMutation({
    mutationFn: () => api.users.create(form),
    onSuccess: async () => {
      setForm({ email: '', name: '', role: 'developer', password: '' });
      await queryClient.invalidateQueries({ queryKey: keys.users });
    },
  });
  const problem = create.error === null ? null : problemOf(create.error);
  const errs = fieldErrors(problem?.issues, ['email', 'name', 'role', 'password']);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="new-user">
      <h2 id="new-user">Add a user</h2>
      {problem !== null && Object.keys(errs.byField).length === 0 && <ErrorAlert error={create.error} />}
      {create.isSuccess && (
        <div className="alert ok" role="status">
          {create.data.email} can now sign in.
        </div>
      )}
      <div className="row">
        <Field label="Email" errors={errs.byField.email}>
          <input type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} />
        </Field>
        <Field label="Name" errors={errs.byField.name}>
          <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </Field>
        <Field label="Role" errors={errs.byField.role}>
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as UserRole })}>
            {USER_ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </Field>
        <Field label="Password" errors={errs.byField.password} hint="12 characters or more">
          <input
            type="password"
            autoComplete="new-password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </Field>
      </div>
      <button type="submit" className="primary" disabled={create.isPending}>
        Add user
      </button>
    </form>
  );
}

/**
 * A user's roles per pool: each one with a Revoke button, and a form to grant a role in another pool. The role that
 * applies in a pool is the higher of the membership and the global role.
 */
function PoolRoles({ user }: { user: User }) {
  const queryClient = useQueryClient();
  const key = keys.memberships(user.id);
  const memberships = useQuery({ queryKey: key, queryFn: () => api.users.memberships(user.id) });
  const pools = useQuery({ queryKey: keys.pools, queryFn: () => api.pools.list({ limit: 500 }) });
  const [pool, setPool] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const done = (): Promise<void> => queryClient.invalidateQueries({ queryKey: key });
  const grant = useMutation({ mutationFn: () => api.users.grant(user.id, pool, role), onSuccess: done });
  const revoke = useMutation({ mutationFn: (p: string) => api.users.revoke(user.id, p), onSuccess: done });
  const items = memberships.data ?? [];
  const free = (pools.data?.items ?? []).filter((p) => !items.some((m) => m.poolId === p.id));
  return (
    <details>
      <summary aria-label={`Pool roles of ${user.email}`}>
        {items.length === 0 ? 'none' : items.map((m) => `${m.poolName}: ${m.role}`).join(', ')}
      </summary>
      <ErrorAlert error={memberships.error ?? grant.error ?? revoke.error} />
      <ul className="plain">
        {items.map((m) => (
          <li key={m.poolId}>
            {m.poolName} · {m.role} <span className="subtle">({m.source})</span>{' '}
            <button
              type="button"
              className="small"
              aria-label={`Revoke ${m.poolName} from ${user.email}`}
              disabled={revoke.isPending}
              onClick={() => revoke.mutate(m.poolId)}
            >
              Revoke
            </button>
          </li>
        ))}
      </ul>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (pool !== '') grant.mutate();
        }}
      >
        <select aria-label={`Pool for ${user.email}`} value={pool} onChange={(e) => setPool(e.target.value)}>
          <option value="">pool…</option>
          {free.map((p) => (
            <option key={p.id} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
        <select
          aria-label={`Pool role for ${user.email}`}
          value={role}
          onChange={(e) => setRole(e.target.value as Role)}
        >
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button type="submit" className="small" disabled={pool === '' || grant.isPending}>
          Grant
        </button>
      </form>
    </details>
  );
}

/** Failed sign-ins in the account's window and the wait they cause, with an admin's unlock. */
function SignInState({ user }: { user: ListedUser }) {
  const queryClient = useQueryClient();
  const unlock = useMutation({
    mutationFn: () => api.users.unlock(user.id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.users }),
  });
  const { failures, delayed, retryAt } = user.signIn;
  if (failures === 0) return <span className="subtle">—</span>;
  return (
    <div data-testid="sign-in-state">
      <span className={delayed ? 'badge warn' : 'subtle'}>
        {failures} failed sign-in{failures === 1 ? '' : 's'}
        {delayed && ' · delayed'}
      </span>
      {retryAt !== null && <div className="subtle">next attempt at {formatTime(retryAt)}</div>}
      <div>
        <button
          type="button"
          className="small"
          disabled={unlock.isPending}
          onClick={() => unlock.mutate()}
          aria-label={`Unlock ${user.email}`}
        >
          Unlock
        </button>
      </div>
      <ErrorAlert error={unlock.error} />
    </div>
  );
}

function UserRow({ user, self }: { user: ListedUser; self: boolean }) {
  const queryClient = useQueryClient();
  const done = (): Promise<void> => queryClient.invalidateQueries({ queryKey: keys.users });
  const update = useMutation({
    mutationFn: (body: { role?: UserRole; disabled?: boolean }) => api.users.update(user.id, body),
    onSuccess: done,
  });
  const remove = useMutation({ mutationFn: () => api.users.delete(user.id), onSuccess: done });
  return (
    <tr>
      <td>
        {user.name}
        <div className="subtle">{user.email}</div>
        <ErrorAlert error={update.error ?? remove.error} />
      </td>
      <td>
        <select
          aria-label={`Role of ${user.email}`}
          value={user.role}
          disabled={self || update.isPending}
          onChange={(e) => update.mutate({ role: e.target.value as UserRole })}
        >
          {USER_ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>
        <PoolRoles user={user} />
      </td>
      <td>{user.disabled ? <StateBadge state="disabled" /> : <StateBadge state="active" />}</td>
      <td>
        <SignInState user={user} />
      </td>
      <td>{formatDateTime(user.createdAt)}</td>
      <td>
        {!self && (
          <div className="inline">
            <button type="button" className="small" onClick={() => update.mutate({ disabled: !user.disabled })}>
              {user.disabled ? 'Enable' : 'Disable'}
            </button>
            <button
              type="button"
              className="small danger"
              onClick={() => {
                if (window.confirm(`Delete ${user.email}? Their sessions and API tokens stop working.`))
                  remove.mutate();
              }}
            >
              Delete
            </button>
          </div>
        )}
      </td>
    </tr>
  );
}

export function UsersPage() {
  const isAdmin = useRoleAtLeast('admin');
  const me = useSession();
  const users = useQuery({ queryKey: keys.users, queryFn: () => api.users.list({ limit: 500 }), enabled: isAdmin });
  if (!isAdmin)
    return (
      <div className="page">
        <Empty title="Admins only">Users are managed by admins.</Empty>
      </div>
    );
  return (
    <div className="page">
      <div className="page-head">
        <h1>Users</h1>
      </div>
      <CreateUser />
      <QueryTable
        query={users}
        loadingLabel="Loading users…"
        empty={<Empty title="No user" />}
        columns={[
          { label: 'User' },
          { label: 'Global role' },
          { label: 'Pool roles' },
          { label: 'State' },
          { label: 'Sign-ins', title: "Failed sign-ins in the account's current window" },
          { label: 'Created' },
        ]}
        actions
        row={(u) => <UserRow key={u.id} user={u} self={u.id === me.user.id} />}
      />
    </div>
  );
}
