/** The console's shell: sign-in, the navigation landmark, and the page of the URL. */
import './styles.css';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, del, messageOf, onUnauthorized } from './api';
import { type PageDef, PAGES } from './pages';
import { SignIn } from './pages/sign-in';
import { TotpEnrolment } from './pages/totp';
import { BASE, match, navigate, useLocation } from './router';
import { displayName, loadMe, type Me, Session } from './session';
import { Link, Loading } from './ui';

function Nav({ me, path }: { me: Me; path: string }) {
  const links = PAGES.filter((page) => page.nav && page.visible(me));
  return (
    <nav aria-label="Main">
      <ul>
        {links.map((page) => {
          const href = `${BASE}${page.path}`;
          const current = path === href || path.startsWith(`${href}/`);
          const badge = page.badge?.(me) ?? 0;
          return (
            <li key={page.path}>
              <Link href={href} aria-current={current ? 'page' : undefined}>
                {page.nav}
                {badge > 0 ? (
                  <span class="badge">
                    <span class="visually-hidden"> (</span>
                    {badge}
                    <span class="visually-hidden"> pending)</span>
                  </span>
                ) : null}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function findPage(me: Me, path: string): { page: PageDef; params: Record<string, string> } | undefined {
  for (const page of PAGES) {
    const params = match(`${BASE}${page.path}`, path);
    if (params && page.visible(me)) return { page, params };
  }
  return undefined;
}

function Home({ me }: { me: Me }) {
  const first = PAGES.find((page) => page.nav && page.visible(me));
  useEffect(() => {
    if (first) navigate(`${BASE}${first.path}`, true);
  }, [first]);
  if (first) return null;
  return (
    <>
      <h1>Nothing to do here yet</h1>
      <p>
        You are signed in as {displayName(me.identity)}, but you approve no requests, manage no source and hold no right to the non-employee records. An
        administrator can name you on a source or give you a right.
      </p>
    </>
  );
}

function Shell({ me, refresh, signOut }: { me: Me; refresh(): Promise<void>; signOut(): void }) {
  const { path } = useLocation();
  const found = findPage(me, path);
  const title = found?.page.title ?? (path === BASE || path === '/' ? 'Home' : 'Not found');
  useEffect(() => {
    document.title = `${title} · NELM console`;
  }, [title]);
  let content = <Home me={me} />;
  if (found) content = <found.page.component params={found.params} />;
  else if (path !== BASE && path !== '/')
    content = (
      <>
        <h1>Page not found</h1>
        <p>
          There is no such page, or it is not for you. <Link href={`${BASE}/`}>Go to the start</Link>.
        </p>
      </>
    );
  return (
    <Session.Provider value={{ me, refresh }}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">NELM</span>
        <Nav me={me} path={path} />
        <div class="who">
          <span>{displayName(me.identity)}</span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </Session.Provider>
  );
}

function App() {
  const [state, setState] = useState<{ me?: Me | undefined; loading: boolean; error?: unknown }>({ loading: true });
  const load = useCallback(async () => {
    try {
      setState({ me: await loadMe(), loading: false });
    } catch (error) {
      setState({ loading: false, error });
    }
  }, []);
  useEffect(() => {
    onUnauthorized(() => setState({ loading: false }));
    void load();
  }, [load]);
  const signOut = useCallback(async () => {
    try {
      await del('/console/api/session');
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
    }
    setState({ loading: false });
    navigate(`${BASE}/`, true);
  }, []);
  if (state.loading) return <Loading what="the console" />;
  if (state.error)
    return (
      <main id="main">
        <h1>The console could not start</h1>
        <p role="alert">{messageOf(state.error)}</p>
      </main>
    );
  if (!state.me) return <SignIn onSignedIn={load} />;
  if (state.me.session.totpEnrolmentRequired) return <TotpEnrolment onDone={load} />;
  return <Shell me={state.me} refresh={load} signOut={signOut} />;
}

render(<App />, document.getElementById('app')!);
