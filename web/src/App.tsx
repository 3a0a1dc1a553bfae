import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { Provider, useQuery } from 'urql';
import { graphql } from './gql';
import { getToken, makeClient, setToken } from './lib/client';
import { SessionContext, type Session } from './session';
import { Login } from './screens/Login';
import { Onboarding } from './screens/Onboarding';

const screens = {
  dashboard: lazy(() => import('./screens/Dashboard')),
  roster: lazy(() => import('./screens/Roster')),
  catalogue: lazy(() => import('./screens/Catalogue')),
  statements: lazy(() => import('./screens/Statements')),
  money: lazy(() => import('./screens/Money')),
  settings: lazy(() => import('./screens/Settings')),
  artist: lazy(() => import('./screens/ArtistHome')),
};
type Route = keyof typeof screens;
const labelNav: [Route, string][] = [
  ['dashboard', 'Dashboard'],
  ['roster', 'Roster'],
  ['catalogue', 'Catalogue'],
  ['statements', 'Statements'],
  ['money', 'Money'],
  ['settings', 'Settings'],
];

export const ViewerDocument = graphql(`
  query Viewer {
    viewer {
      user { id name email }
      organizations { id name kind baseCurrency viewerRole }
      memberships { id organizationId role artist { id name } }
    }
  }
`);

function useHash(): [string, (h: string) => void] {
  const [hash, setHash] = useState(location.hash.slice(2));
  useEffect(() => {
    const on = () => setHash(location.hash.slice(2));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return [hash, (h) => (location.hash = '/' + h)];
}

export function App() {
  const [token, setTok] = useState(getToken());
  const client = useMemo(() => makeClient(), [token]);
  const signIn = (t: string | null) => {
    setToken(t);
    setTok(t);
  };
  return (
    <Provider value={client}>
      {token ? <Shell key={token} onSignOut={() => signIn(null)} /> : <Login onToken={signIn} />}
    </Provider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: ViewerDocument });
  const [hash, go] = useHash();
  const [orgId, setOrgId] = useState(sessionStorage.getItem('imprint.org'));
  if (error?.response?.status === 401) {
    onSignOut();
    return null;
  }
  if (!data) return <p className="loading">{fetching ? 'Loading…' : error?.message}</p>;
  const viewer = data.viewer;
  if (!viewer.user) {
    onSignOut();
    return null;
  }
  const org = viewer.organizations.find((o) => o.id === orgId) ?? viewer.organizations[0];
  if (!org) return <Onboarding user={viewer.user} onDone={() => refetch({ requestPolicy: 'network-only' })} onSignOut={onSignOut} />;
  const membership = viewer.memberships.find((m) => m.organizationId === org.id);
  const role = org.viewerRole ?? membership?.role;
  const isArtist = role === 'ARTIST';
  const session: Session = {
    org,
    membership,
    canWrite: role === 'OWNER' || role === 'ADMIN' || role === 'MANAGER',
    canManageMembers: role === 'OWNER' || role === 'ADMIN',
    locale: undefined,
  };
  const nav: [Route, string][] = isArtist ? [['artist', 'My music']] : labelNav;
  const route: Route = nav.some(([r]) => r === hash) ? (hash as Route) : nav[0][0];
  const Screen = screens[route];
  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Imprint</span>
        {viewer.organizations.length > 1 ? (
          <label className="org-switch">
            <span className="sr-only">Organisation</span>
            <select
              value={org.id}
              onChange={(e) => {
                sessionStorage.setItem('imprint.org', e.target.value);
                setOrgId(e.target.value);
              }}
            >
              {viewer.organizations.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span className="org-name">{org.name}</span>
        )}
        <span className="who">
          {viewer.user.name} · {role?.toLowerCase()}
        </span>
        <button className="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav className="nav" aria-label="Main">
        {nav.map(([r, label]) => (
          <a key={r} href={`#/${r}`} aria-current={r === route ? 'page' : undefined} onClick={() => go(r)}>
            {label}
          </a>
        ))}
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p className="loading">Loading…</p>}>
          <Screen key={org.id} />
        </Suspense>
      </main>
    </SessionContext.Provider>
  );
}
