/** Enrolling a one-time password (TOTP) when the account must have one before going further. */
import { useEffect, useState } from 'preact/hooks';
import { messageOf, post, put } from '../api';
import { ErrorMessage, Field } from '../ui';

export function TotpEnrolment({ onDone }: { onDone(): void }) {
  const [secret, setSecret] = useState<{ secret: string; uri: string }>();
  const [error, setError] = useState<unknown>();
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState('');

  useEffect(() => {
    document.title = 'Set up a one-time code · NELM console';
    post<{ secret: string; uri: string }>('/console/api/session/totp').then((answer) => setSecret(answer.data), setError);
  }, []);

  const confirm = async (event: Event) => {
    event.preventDefault();
    setCodeError('');
    try {
      await put('/console/api/session/totp', { code });
      onDone();
    } catch (failure) {
      setCodeError(messageOf(failure));
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Set up a one-time code</h1>
      <p>Your account needs a one-time code at every sign-in. Add this key to an authenticator app, then enter the code it shows.</p>
      <ErrorMessage error={error} />
      {secret ? (
        <>
          <dl class="facts">
            <dt>Key</dt>
            <dd>
              <code class="secret">{secret.secret}</code>
            </dd>
            <dt>Link for authenticator apps</dt>
            <dd>
              <code class="secret">{secret.uri}</code>
            </dd>
          </dl>
          <form onSubmit={confirm}>
            <Field label="One-time code" error={codeError} required>
              {({ id, describedBy, invalid }) => (
                <input
                  id={id}
                  inputMode="numeric"
                  autoComplete="one-time-code"
                  required
                  aria-invalid={invalid}
                  aria-describedby={describedBy}
                  value={code}
                  onInput={(e) => setCode(e.currentTarget.value)}
                />
              )}
            </Field>
            <button type="submit" class="primary">
              Confirm
            </button>
          </form>
        </>
      ) : null}
    </main>
  );
}
