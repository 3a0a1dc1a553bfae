import { everything } from '../lib/client';
import { useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import { useSession } from '../session';
import { Field, Select } from '../lib/Field';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';
import { AgreementWords } from '../lib/AgreementWords';
import { LoadMore, useLoadMore } from '../lib/pages';
import { EditArtist, RecordLeaving } from './ArtistForms';

// One selection for the first page and the next ones.
graphql(`
  fragment RosterArtistFields on Artist {
    id name sortName joinedOn leftOn
    profiles { id store externalId url claimState }
    agreements {
      id title masterOwner labelMasterShare artistRevenueShare labelRevenueShare dealBasis recoupmentScope
      advance { amount currency } artistMayTakeDown mastersRevertAfterMonths mastersRevertOn exitReleasePolicy
      futureRights futureOptionsCount startsOn endsOn
    }
  }
`);
const RosterQuery = graphql(`
  query Roster($org: ID!) {
    organization(id: $org) {
      id
      artists(first: 100) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes {
          ...RosterArtistFields
        }
      }
    }
  }
`);
const RosterMore = graphql(`
  query RosterMore($org: ID!, $after: String) {
    organization(id: $org) {
      id
      artists(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes {
          ...RosterArtistFields
        }
      }
    }
  }
`);
const CreateArtist = graphql(`
  mutation CreateArtist($input: CreateArtistInput!) {
    createArtist(input: $input) { artist { id name } userErrors { field message code } }
  }
`);
const CreateAgreement = graphql(`
  mutation CreateAgreement($input: CreateAgreementInput!) {
    createAgreement(input: $input) { agreement { id } userErrors { field message code } }
  }
`);

const claimWords: Record<string, string> = {
  NOT_LIVE: 'not live yet',
  UNCLAIMED: 'not claimed',
  CLAIM_PENDING: 'claim pending',
  CLAIMED: 'claimed',
};
const storeNames: Record<string, string> = {
  SPOTIFY: 'Spotify', APPLE_MUSIC: 'Apple Music', YOUTUBE_MUSIC: 'YouTube Music', AMAZON_MUSIC: 'Amazon Music',
  DEEZER: 'Deezer', TIDAL: 'Tidal', BANDCAMP: 'Bandcamp', SOUNDCLOUD: 'SoundCloud',
};
export { claimWords, storeNames };

export default function Roster() {
  const { org, canWrite } = useSession();
  const [{ data }, refetch] = useQuery({ query: RosterQuery, variables: { org: org.id }, context: everything });
  const client = useClient();
  const list = useLoadMore(data?.organization?.artists, async (after) =>
    (await client.query(RosterMore, { org: org.id, after }, { requestPolicy: 'network-only' }).toPromise()).data?.organization?.artists,
  );
  const artists = list.nodes;
  // What the last exit recorded here did, kept once her card has moved to those who left.
  const [exit, setExit] = useState('');
  const current = artists.filter((a) => !a.leftOn);
  const departed = artists.filter((a) => a.leftOn);
  return (
    <>
      <h1>Roster</h1>
      {canWrite ? <NewArtist /> : null}
      <section aria-labelledby="current">
        <h2 id="current">Artists ({current.length})</h2>
        {current.length === 0 ? <p className="empty">No artists yet.</p> : null}
        <div className="cards">
          {current.map((a) => (
            <article key={a.id} className="card artist" aria-labelledby={`artist-${a.id}`}>
              <h3 id={`artist-${a.id}`}>{a.name}</h3>
              <p className="muted">On the roster since {a.joinedOn}</p>
              <h4>Store profiles</h4>
              {a.profiles.length ? (
                <ul className="profiles">
                  {a.profiles.map((p) => (
                    <li key={p.store}>
                      {storeNames[p.store] ?? p.store}: <span className={`claim claim-${p.claimState.toLowerCase()}`}>{claimWords[p.claimState]}</span>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted">None yet.</p>
              )}
              {a.agreements.map((ag) => (
                <AgreementWords key={ag.id} agreement={ag} title={ag.title} />
              ))}
              {canWrite && a.agreements.length === 0 ? <NewAgreement artistId={a.id} /> : null}
              {canWrite ? (
                <>
                  <EditArtist artist={a} />
                  <RecordLeaving artist={a} onLeft={(what) => {
                    setExit(what);
                    refetch({ requestPolicy: 'network-only' });
                  }} />
                </>
              ) : null}
            </article>
          ))}
        </div>
        <LoadMore more={list.more} loading={list.loading} error={list.error} shown={artists.length} totalCount={list.totalCount} what="artists" />
      </section>
      <section aria-labelledby="departed">
        <h2 id="departed">Artists who left</h2>
        <p role="status" className="exit-result">{exit}</p>
        {departed.length === 0 ? <p className="empty">Nobody has left.</p> : null}
        <ul>
          {departed.map((a) => (
            <li key={a.id}>
              <strong>{a.name}</strong> left on {a.leftOn}.{' '}
              {a.agreements.map((ag) =>
                ag.mastersRevertOn ? `The masters went back to them on ${ag.mastersRevertOn}; ` : '',
              )}
              {a.agreements[0]?.exitReleasePolicy === 'TAKE_DOWN' ? 'Their releases were taken down.' : 'Their releases stay up.'}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

function NewArtist() {
  const { org } = useSession();
  const [name, setName] = useState('');
  const [spotify, setSpotify] = useState('');
  const [result, create] = useMutation(CreateArtist);
  const errors = result.data?.createArtist.userErrors;
  return (
    <form
      className="card inline-form"
      aria-labelledby="new-artist"
      onSubmit={async (e) => {
        e.preventDefault();
        const profiles = spotify ? [{ store: 'SPOTIFY' as const, externalId: spotify }] : [];
        const r = await create({ input: { organizationId: org.id, name, profiles } });
        if (r.data?.createArtist.artist) {
          setName('');
          setSpotify('');
        }
      }}
    >
      <h2 id="new-artist">Add an artist</h2>
      <FormErrors messages={otherErrors(errors, ['name', 'profiles'])} />
      <Field label="Artist name" value={name} onChange={(e) => setName(e.target.value)} errors={errorsFor(errors, 'name')} required />
      <Field label="Spotify artist id (optional)" value={spotify} onChange={(e) => setSpotify(e.target.value)} errors={errorsFor(errors, 'profiles')} />
      <button className="primary" type="submit" disabled={result.fetching}>Add artist</button>
    </form>
  );
}

function NewAgreement({ artistId }: { artistId: string }) {
  const [artistShare, setArtistShare] = useState('50');
  const [owner, setOwner] = useState<'LABEL' | 'ARTIST' | 'JOINT'>('LABEL');
  const [advance, setAdvance] = useState('0');
  const [startsOn, setStartsOn] = useState('2024-01-01');
  const [result, create] = useMutation(CreateAgreement);
  const errors = result.data?.createAgreement.userErrors;
  return (
    <form
      className="subform"
      aria-label="New agreement"
      onSubmit={(e) => {
        e.preventDefault();
        create({ input: { artistId, title: 'Record deal', masterOwner: owner, artistRevenueShare: artistShare, advance, startsOn, dealBasis: 'NET' } });
      }}
    >
      <h4>Record the agreement</h4>
      <FormErrors messages={otherErrors(errors, ['artistRevenueShare', 'masterOwner', 'advance', 'startsOn'])} />
      <Select label="Masters owned by" value={owner} onChange={(e) => setOwner(e.target.value as 'LABEL')} errors={errorsFor(errors, 'masterOwner')}>
        <option value="LABEL">the label</option>
        <option value="ARTIST">the artist</option>
        <option value="JOINT">both</option>
      </Select>
      <Field label="Artist's share of revenue (%)" value={artistShare} onChange={(e) => setArtistShare(e.target.value)} inputMode="decimal" errors={errorsFor(errors, 'artistRevenueShare')} />
      <Field label="Advance" value={advance} onChange={(e) => setAdvance(e.target.value)} inputMode="decimal" errors={errorsFor(errors, 'advance')} />
      <Field label="Starts on" type="date" value={startsOn} onChange={(e) => setStartsOn(e.target.value)} errors={errorsFor(errors, 'startsOn')} />
      <button type="submit">Save agreement</button>
    </form>
  );
}
