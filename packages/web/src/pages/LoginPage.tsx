import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { api, keys, problemOf } from '../api';
import { Field } from '../components/Field';
import { ThemeToggle } from '../components/Layout';
import { fieldErrors } from '../lib/issues';

/** Only paths inside the console are followed after signing in. */
function safeRedirect(redirect: string | undefined): string {
  if (redirect === undefined || !redirect.startsWith('/') || redirect.startsWith('//') || redirect.startsWith('/login'))
    return '/agents';
  return redirect;
}

export function LoginPage() {
  const search = useSearch({ from: '/login' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [breakGlass, setBreakGlass] = useState(false);
  const providers = useQuery({ queryKey: ['auth-providers'], queryFn: () => api.auth.providers(), retry: 1 });
  const sso = providers.data?.providers ?? [];
  // Until the list is known, and if it cannot be read, offer the password form.
  const showForm = providers.data === undefined || providers.data.localLogin || breakGlass;
  const returnTo = safeRedirect(search.redirect);
  const login = useMutation({
    mutationFn: () => api.auth.login({ email, password }),
    onSuccess: async (me) => {
      queryClient.setQueryData(keys.me, me);
      await navigate({ href: safeRedirect(search.redirect), replace: true });
    },
  });
  const problem = login.error === null ? null : problemOf(login.error);
  const errors = fieldErrors(problem?.issues, ['email', 'password']);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    login.mutate();
  };
  return (
    <div className="login">
      <form className="card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div className="page-head">
          <h1 id="login-title">Sign in to Spyglass</h1>
          <span className="spacer" />
          <ThemeToggle />
        </div>
        {problem !== null && errors.other.length === 0 && Object.keys(errors.byField).length === 0 && (
          <div className="alert" role="alert">
            {problem.code === 'UNAUTHENTICATED' ? 'Wrong email or password.' : problem.message}
          </div>
        )}
        {sso.length > 0 && (
          <div className="sso-buttons">
            {sso.map((p) => (
              <a
                key={p.id}
                className="button primary"
                href={`/api/v1/auth/sso/${encodeURIComponent(p.id)}/start?returnTo=${encodeURIComponent(returnTo)}`}
              >
                Sign in with {p.displayName}
              </a>
            ))}
          </div>
        )}
        {sso.length > 0 && showForm && <div className="sso-or">or with your password</div>}
        {!showForm && (
          <button type="button" className="link" onClick={() => setBreakGlass(true)}>
            Emergency sign-in with a password (break-glass admin)
          </button>
        )}
        {showForm &&
          errors.other.map((i) => (
            <div className="alert" role="alert" key={i.path}>
              {i.message}
            </div>
          ))}
        {showForm && (
          <>
            <Field label="Email" errors={errors.byField.email}>
              <input
                type="email"
                name="email"
                autoComplete="username"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                autoFocus
                required
              />
            </Field>
            <Field label="Password" errors={errors.byField.password}>
              <input
                type="password"
                name="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </Field>
            <button type="submit" className="primary" disabled={login.isPending}>
              {login.isPending ? 'Signing in…' : 'Sign in'}
            </button>
          </>
        )}
      </form>
    </div>
  );
}
