import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, setCsrfToken, setUnauthenticatedHandler, type StaffSession } from './api';

type SessionState =
  | { status: 'loading' }
  | { status: 'signed_out'; reason?: string }
  | { status: 'signed_in'; session: StaffSession };

interface SessionContextValue {
  state: SessionState;
  signedIn(session: StaffSession): void;
  logout(): Promise<void>;
  /** Whether the signed-in staff member holds a scope (buttons are hidden without it; the API enforces it anyway). */
  can(scope: string): boolean;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  const signedIn = useCallback((session: StaffSession) => {
    setCsrfToken(session.csrf_token);
    setState({ status: 'signed_in', session });
  }, []);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(null);
      setState({ status: 'signed_out', reason: 'Your session has ended. Sign in again.' });
    });
    let cancelled = false;
    api.publicGet<StaffSession>('/v1/staff/session').then(
      (session) => { if (!cancelled) signedIn(session); },
      (error: unknown) => {
        if (cancelled) return;
        setCsrfToken(null);
        const reason = error instanceof ApiError && error.status !== 401 ? error.message : undefined;
        setState(reason ? { status: 'signed_out', reason } : { status: 'signed_out' });
      },
    );
    return () => {
      cancelled = true;
      setUnauthenticatedHandler(null);
    };
  }, [signedIn]);

  const logout = useCallback(async () => {
    try {
      await api.post('/v1/staff/logout');
    } finally {
      setCsrfToken(null);
      setState({ status: 'signed_out', reason: 'You are signed out.' });
    }
  }, []);

  const value = useMemo<SessionContextValue>(() => ({
    state,
    signedIn,
    logout,
    can: (scope) => state.status === 'signed_in' && state.session.scopes.includes(scope),
  }), [state, signedIn, logout]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}

export function useSignedInSession(): StaffSession {
  const { state } = useSession();
  if (state.status !== 'signed_in') throw new Error('useSignedInSession outside a signed-in page');
  return state.session;
}
