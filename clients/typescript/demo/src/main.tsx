// The /demo page: phone number → code → signed in, with the token's claims, a refresh and a
// logout button. It talks to the Sesame that serves it (its own origin is the issuer) and
// keeps the refresh token in localStorage, so it survives a reload and is shared by tabs.
import { SesameClient, SesameError, localStorageAdapter } from '@sesame/client';
import { SesameProvider, useSesame } from '@sesame/react';
import { type FormEvent, StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import './demo.css';

const client = new SesameClient({
  issuer: window.location.origin,
  storage: localStorageAdapter(),
  storageKey: 'sesame.demo.refresh_token',
});

function messageOf(error: unknown): string {
  return error instanceof SesameError ? error.message : 'Something went wrong. Please try again.';
}

function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

function ErrorLine({ error }: { error: string | null }) {
  return error === null ? null : (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

function SignIn() {
  const { startLogin, verifyCode } = useSesame();
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { busy, error, run } = useAction();

  const send = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await startLogin(phone);
      setSentTo(phone);
      setCode('');
    });
  };
  const verify = (event: FormEvent) => {
    event.preventDefault();
    if (sentTo !== null) void run(() => verifyCode(sentTo, code));
  };

  if (sentTo === null) {
    return (
      <form onSubmit={send}>
        <h2>Sign in with your phone</h2>
        <label htmlFor="phone">Phone number</label>
        <input
          id="phone"
          type="tel"
          autoComplete="tel"
          placeholder="+44 7700 900123"
          value={phone}
          onChange={(event) => setPhone(event.target.value)}
          required
        />
        <button type="submit" disabled={busy}>
          Send code
        </button>
        <ErrorLine error={error} />
        <p className="hint">
          In development the code is printed in the server's output; numbers listed in
          SESAME_TEST_NUMBERS have a fixed code and receive nothing.
        </p>
      </form>
    );
  }
  return (
    <form onSubmit={verify}>
      <h2>Enter the code</h2>
      <p>We sent a code to {sentTo}.</p>
      <label htmlFor="code">Code</label>
      <input
        id="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        value={code}
        onChange={(event) => setCode(event.target.value.trim())}
        required
      />
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      <button type="button" className="secondary" onClick={() => setSentTo(null)}>
        Use another number
      </button>
      <ErrorLine error={error} />
    </form>
  );
}

function SignedIn() {
  const { user, refresh, logout } = useSesame();
  const { busy, error, run } = useAction();
  const [refreshes, setRefreshes] = useState(0);
  return (
    <section>
      <h2>Signed in</h2>
      <p>
        as <strong>{user?.phone_number ?? '…'}</strong> ({user?.kind ?? '…'})
      </p>
      <h3>Access token claims</h3>
      <p className="hint">Decoded in the browser, not verified: APIs verify tokens with the JWKS.</p>
      <pre aria-label="Access token claims">{user ? JSON.stringify(user, null, 2) : '…'}</pre>
      {refreshes > 0 && <p className="status">Refreshed {refreshes === 1 ? 'once' : `${refreshes} times`}.</p>}
      <div className="actions">
        <button
          type="button"
          disabled={busy}
          onClick={() => void run(async () => {
            await refresh();
            setRefreshes((count) => count + 1);
          })}
        >
          Refresh
        </button>
        <button type="button" className="secondary" disabled={busy} onClick={() => void run(logout)}>
          Log out
        </button>
      </div>
      <ErrorLine error={error} />
    </section>
  );
}

function Demo() {
  const { state } = useSesame();
  return (
    <main>
      <header>
        <h1>Sesame</h1>
        <p>Passwordless login with a phone number and a one-time code.</p>
      </header>
      {state === 'loading' && <p>Loading…</p>}
      {state === 'signed_out' && <SignIn />}
      {state === 'signed_in' && <SignedIn />}
    </main>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <SesameProvider client={client}>
        <Demo />
      </SesameProvider>
    </StrictMode>,
  );
}
