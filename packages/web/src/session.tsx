import { roleAtLeast, type Me, type Role } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { createContext, useContext } from 'react';
import { api, keys } from './api';

export const SessionContext = createContext<Me | null>(null);

/** The signed-in user (inside the authenticated part of the console). */
export function useSession(): Me {
  const me = useContext(SessionContext);
  if (me === null) throw new Error('useSession outside a signed-in page');
  return me;
}

export function useRoleAtLeast(role: Role): boolean {
  return roleAtLeast(useSession().user.role, role);
}

/**
 * Developers and admins add and remove actions; viewers only look. A developer of one pool gets the controls too (the
 * hub checks the role in the pool of each action).
 */
export function useCanEditActions(): boolean {
  const me = useSession();
  return roleAtLeast(me.user.role, 'developer') || (me.memberships ?? []).some((m) => roleAtLeast(m.role, 'developer'));
}

/**
 * Who is signed in, or null when nobody is. Asks `GET /api/v1/auth/session`, which answers 200 either way: the probe
 * of a browser that is not signed in is not a denied request in the audit log.
 */
export function useMeQuery() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async (): Promise<Me | null> => {
      const s = await api.auth.session();
      return s.signedIn ? { user: s.user, via: s.via } : null;
    },
    retry: false,
    staleTime: 60_000,
  });
}
