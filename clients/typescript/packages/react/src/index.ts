/**
 * `@sesame/react`: `<SesameProvider client={…}>` and `useSesame()`, for React Native and
 * React on the web alike. The provider follows the client's auth events and refreshes on
 * resume: pass React Native's `AppState` as `appState`; on the web it listens to
 * `visibilitychange` by itself.
 */
import {
  type AccessTokenClaims,
  type AuthState,
  type LoginStarted,
  type SesameClient,
  resumeWhenVisible,
} from '@sesame/client';
import {
  type ReactNode,
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
} from 'react';

/** What React Native's `AppState` offers (passed in, so this package never imports react-native). */
export interface AppStateLike {
  addEventListener(type: 'change', listener: (state: string) => void): { remove(): void };
}

export interface SesameProviderProps {
  client: SesameClient;
  /** React Native: `AppState` from `react-native`, so the session is refreshed on resume. */
  appState?: AppStateLike;
  children?: ReactNode;
}

export interface UseSesame {
  /** `loading` until storage has been read, then `signed_in` or `signed_out`. */
  state: AuthState;
  /** The access token's claims (decoded, not verified), or `null`. */
  user: AccessTokenClaims | null;
  startLogin(phoneNumber: string, options?: { channel?: 'sms' | 'voice' }): Promise<LoginStarted>;
  verifyCode(phoneNumber: string, code: string): Promise<AccessTokenClaims | null>;
  /** Forces a refresh now; resolves with the new access token. */
  refresh(): Promise<string>;
  logout(): Promise<void>;
  client: SesameClient;
}

const SesameContext = createContext<SesameClient | null>(null);

/**
 * What the provider does on mount: calls `client.resume()` each time the app comes back —
 * React Native's `AppState` turning `active` when given, the page becoming visible otherwise.
 * Returns the function that stops listening (the effect's clean-up).
 */
export function resumeOnReturn(
  client: Pick<SesameClient, 'resume'>,
  appState?: AppStateLike,
): () => void {
  if (appState) {
    const subscription = appState.addEventListener('change', (state) => {
      if (state === 'active') void client.resume();
    });
    return () => subscription.remove();
  }
  return resumeWhenVisible(client);
}

export function SesameProvider({ client, appState, children }: SesameProviderProps) {
  useEffect(() => resumeOnReturn(client, appState), [client, appState]);
  return createElement(SesameContext.Provider, { value: client }, children);
}

export function useSesame(): UseSesame {
  const client = useContext(SesameContext);
  if (client === null) throw new Error('useSesame() must be used inside <SesameProvider>');
  const [snapshot, setSnapshot] = useState(() => ({
    state: client.state,
    user: client.claims(),
  }));
  useEffect(() => {
    const update = () => setSnapshot({ state: client.state, user: client.claims() });
    const unsubscribe = client.onAuthStateChange(update);
    update();
    // A session found in storage has no access token yet: fetch one, so `user` fills in.
    if (client.state !== 'signed_out' && client.claims() === null) {
      client.getAccessToken().catch(() => {});
    }
    return unsubscribe;
  }, [client]);
  const startLogin = useCallback<UseSesame['startLogin']>(
    (phoneNumber, options) => client.startLogin(phoneNumber, options),
    [client],
  );
  const verifyCode = useCallback<UseSesame['verifyCode']>(
    (phoneNumber, code) => client.verifyCode(phoneNumber, code),
    [client],
  );
  const refresh = useCallback(() => client.refresh(), [client]);
  const logout = useCallback(() => client.logout(), [client]);
  return useMemo(
    () => ({ ...snapshot, startLogin, verifyCode, refresh, logout, client }),
    [snapshot, startLogin, verifyCode, refresh, logout, client],
  );
}
