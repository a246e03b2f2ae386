/** Sign in: a password (and a one-time code when the account has one), or single sign-on. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, get, setCsrfToken } from '../api';
import type { SessionAnswer } from '../session';
import { Field } from '../ui';

/** What `?signInError=<code>` means, after single sign-on sent the browser back. */
const SIGN_IN_ERRORS: Record<string, string> = {
  sso_unavailable: 'Single sign-on is not available right now. Sign in with your password, or try again later.',
  state: 'The single sign-on attempt expired or was started in another window. Try again.',
  provider: 'Your identity provider refused or cancelled the sign-in. Try again, or sign in with your password.',
  no_claim: 'Your identity provider did not say who you are (no email or account name). Ask an administrator.',
  email_unverified: 'Your identity provider has not verified your email address, so it cannot sign you in here.',
  unknown_user: 'Single sign-on worked, but no identity of NELM matches your account. Ask an administrator to add you.',
  disabled: 'Single sign-on worked, but your NELM identity is disabled. Ask an administrator.',
};

function signInErrorText(code: string): string {
  return SIGN_IN_ERRORS[code] ?? `Single sign-on did not sign you in (${code}). Try again, or sign in with your password.`;
}

function refusalText(error: unknown): string {
  if (error instanceof ApiError && error.status === 429) {
    const wait = error.retryAfterSeconds;
    return wait ? `Too many failed sign-ins. Try again in ${wait} second${wait === 1 ? '' : 's'}.` : 'Too many failed sign-ins. Try again later.';
  }
  if (error instanceof ApiError && error.status === 401) return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  if (error instanceof ApiError && error.status === 400) return 'Enter your username and your password.';
  return error instanceof Error ? error.message : String(error);
}

export function SignIn({ onSignedIn }: { onSignedIn(): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [codeRequired, setCodeRequired] = useState(false);
  const [sso, setSso] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(() => {
    const code = new URLSearchParams(location.search).get('signInError');
    return code ? signInErrorText(code) : '';
  });

  useEffect(() => {
    document.title = 'Sign in · NELM console';
    if (new URLSearchParams(location.search).has('signInError')) history.replaceState(null, '', location.pathname);
    get<{ sso?: boolean }>('/console/api/sign-in-options').then(
      (answer) => setSso(answer.data.sso === true),
      () => setSso(false),
    );
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (username.trim() === '' || password === '') {
      setProblem('Enter your username and your password.');
      return;
    }
    setBusy(true);
    setProblem('');
    try {
      const body: Record<string, string> = { username, password };
      if (codeRequired) body.code = code;
      const answer = await call<SessionAnswer>('POST', '/console/api/session', { body, quiet401: true });
      setCsrfToken(answer.data.csrfToken);
      onSignedIn();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && error.body?.codeRequired === true && !codeRequired) {
        setCodeRequired(true);
        setProblem('Enter the one-time code from your authenticator app.');
      } else setProblem(refusalText(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Sign in to NELM</h1>
      <form onSubmit={submit} noValidate>
        {problem ? (
          <p class="error" role="alert">
            {problem}
          </p>
        ) : null}
        <Field label="Username" help="Your account name or your email address">
          {({ id, describedBy }) => (
            <input
              id={id}
              name="username"
              autoComplete="username"
              required
              aria-describedby={describedBy}
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          )}
        </Field>
        <Field label="Password">
          {({ id }) => (
            <input
              id={id}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          )}
        </Field>
        {codeRequired ? (
          <Field label="One-time code" help="Six digits from your authenticator app">
            {({ id, describedBy }) => (
              <input
                id={id}
                name="code"
                inputMode="numeric"
                autoComplete="one-time-code"
                pattern="[0-9]*"
                required
                aria-describedby={describedBy}
                value={code}
                onInput={(e) => setCode(e.currentTarget.value)}
              />
            )}
          </Field>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      {sso ? (
        <p class="sso">
          <a class="button" href="/console/api/oidc/login">
            Sign in with single sign-on
          </a>
        </p>
      ) : null}
    </main>
  );
}
