import { useMutation, useQueryClient } from '@tanstack/react-query';
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
        {errors.other.map((i) => (
          <div className="alert" role="alert" key={i.path}>
            {i.message}
          </div>
        ))}
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
      </form>
    </div>
  );
}
