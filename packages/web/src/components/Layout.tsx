import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate } from '@tanstack/react-router';
import { api } from '../api';
import { useRoleAtLeast, useSession } from '../session';
import { useTheme, type ThemeChoice } from '../theme';

function Logo() {
  return (
    <svg width="20" height="20" viewBox="0 0 32 32" aria-hidden="true">
      <circle cx="13" cy="13" r="9" fill="none" stroke="currentColor" strokeWidth="4" />
      <path d="M20 20l8 8" stroke="currentColor" strokeWidth="4" strokeLinecap="round" />
    </svg>
  );
}

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = { system: 'light', light: 'dark', dark: 'system' };

export function ThemeToggle() {
  const { choice, theme, setChoice } = useTheme();
  return (
    <button
      type="button"
      className="small"
      onClick={() => setChoice(NEXT_THEME[choice])}
      title="Switch between light, dark and the system's theme"
      aria-label={`Theme: ${choice}${choice === 'system' ? ` (${theme})` : ''}. Switch theme`}
    >
      {theme === 'dark' ? '☾' : '☀'} {choice === 'system' ? 'Auto' : choice === 'dark' ? 'Dark' : 'Light'}
    </button>
  );
}

/** The signed-in shell: navigation, theme, who is signed in, and the page. */
export function Layout() {
  const me = useSession();
  const isAdmin = useRoleAtLeast('admin');
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const logout = useMutation({
    mutationFn: () => api.auth.logout(),
    onSettled: async () => {
      queryClient.clear();
      await navigate({ to: '/login' });
    },
  });
  const nav: { to: string; label: string }[] = [
    { to: '/agents', label: 'Agents' },
    { to: '/actions', label: 'Actions' },
    { to: '/live', label: 'Live logs' },
    // Traces are scoped by pool (a user with pool roles only sees their pools' spans); Kubernetes, tests and the
    // assistant need a global role, so such a user does not get them.
    { to: '/traces', label: 'Traces' },
    ...(me.user.role === 'none'
      ? []
      : [
          { to: '/kubernetes', label: 'Kubernetes' },
          { to: '/tests', label: 'Tests' },
          { to: '/assistant', label: 'Assistant' },
        ]),
    { to: '/tokens', label: 'API tokens' },
    ...(isAdmin
      ? [
          { to: '/pools', label: 'Pools' },
          { to: '/users', label: 'Users' },
          { to: '/audit', label: 'Audit log' },
        ]
      : []),
  ];
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/agents" className="brand">
          <Logo /> Spyglass
        </Link>
        <nav className="nav" aria-label="Main">
          {nav.map((n) => (
            <Link key={n.to} to={n.to} activeProps={{ className: 'active', 'aria-current': 'page' }}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="userbox">
          <ThemeToggle />
          <span data-testid="whoami" title={`${me.user.email} (${me.user.role})`}>
            <span className="whoami-email">{me.user.email}</span>
            <span className="whoami-sep"> · </span>
            <span className="badge">{me.user.role}</span>
          </span>
          <button type="button" className="small" onClick={() => logout.mutate()} disabled={logout.isPending}>
            Sign out
          </button>
        </div>
      </header>
      <main className="main" id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
