import { everything } from '../lib/client';
import { useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { graphql } from '../gql';
import type { CatalogueQuery, ReleaseStatus } from '../gql/graphql';
import { useSession } from '../session';
import { Field, Select } from '../lib/Field';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';
import { checkIsrc, checkUpc } from '../lib/ids';
import { SplitEditor } from './SplitEditor';
import { LoadMore, useLoadMore } from '../lib/pages';

// One selection for the first page and the next ones.
graphql(`
  fragment CatalogueReleaseFields on Release {
    id title upc releaseType releaseDate status
    artist { id name }
    tracks { id title isrc position }
    currentSplit { id effectiveFrom consent { confirmed pending } shares { id payee { id } payeeName share confirmed } }
  }
`);
const CatalogueQueryDoc = graphql(`
  query Catalogue($org: ID!) {
    organization(id: $org) {
      id
      splitsAwaitingConsent
      artists(first: 100, current: true) { nodes { id name } }
      payees(first: 100) { nodes { id name kind } }
      releases(first: 100) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes {
          ...CatalogueReleaseFields
        }
      }
    }
  }
`);
const CatalogueMore = graphql(`
  query CatalogueMore($org: ID!, $after: String) {
    organization(id: $org) {
      id
      releases(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes {
          ...CatalogueReleaseFields
        }
      }
    }
  }
`);
const CreateRelease = graphql(`
  mutation CreateRelease($input: CreateReleaseInput!) {
    createRelease(input: $input) { release { id title } userErrors { field message code } }
  }
`);
const AddTrack = graphql(`
  mutation AddTrack($input: AddTrackInput!) {
    addTrack(input: $input) { track { id title } userErrors { field message code } }
  }
`);
const SetStatus = graphql(`
  mutation SetReleaseStatus($input: SetReleaseStatusInput!) {
    setReleaseStatus(input: $input) { release { id status } userErrors { field message code } }
  }
`);

type Release = NonNullable<CatalogueQuery['organization']>['releases']['nodes'][number];
type Payee = NonNullable<CatalogueQuery['organization']>['payees']['nodes'][number];

const nextStatuses: Record<ReleaseStatus, ReleaseStatus[]> = {
  DRAFT: ['SCHEDULED', 'LIVE'],
  SCHEDULED: ['LIVE', 'DRAFT'],
  LIVE: ['TAKEN_DOWN'],
  TAKEN_DOWN: ['LIVE'],
};
const statusWords: Record<ReleaseStatus, string> = { DRAFT: 'Draft', SCHEDULED: 'Scheduled', LIVE: 'Live', TAKEN_DOWN: 'Taken down' };

export default function Catalogue() {
  const { org, canWrite } = useSession();
  const [{ data }] = useQuery({ query: CatalogueQueryDoc, variables: { org: org.id }, context: everything });
  const o = data?.organization;
  const client = useClient();
  const releases = useLoadMore(o?.releases, async (after) =>
    (await client.query(CatalogueMore, { org: org.id, after }, { requestPolicy: 'network-only' }).toPromise()).data?.organization?.releases,
  );
  return (
    <>
      <h1>Catalogue</h1>
      {o && o.splitsAwaitingConsent > 0 ? (
        <p className="warn" role="status">
          {o.splitsAwaitingConsent} split{o.splitsAwaitingConsent === 1 ? '' : 's'} wait for a payee to confirm their share.
        </p>
      ) : null}
      {canWrite && o ? <NewRelease artists={o.artists.nodes} /> : null}
      {o && releases.nodes.length === 0 ? <p className="empty">No releases yet.</p> : null}
      {o ? releases.nodes.map((r) => <ReleaseCard key={r.id} release={r} payees={o.payees.nodes} canWrite={canWrite} />) : null}
      <LoadMore more={releases.more} loading={releases.loading} error={releases.error} shown={releases.nodes.length} totalCount={releases.totalCount} what="releases" />
    </>
  );
}

function NewRelease({ artists }: { artists: { id: string; name: string }[] }) {
  const [artistId, setArtistId] = useState('');
  const [title, setTitle] = useState('');
  const [upc, setUpc] = useState('');
  const [type, setType] = useState<'SINGLE' | 'EP' | 'ALBUM' | 'COMPILATION'>('SINGLE');
  const [date, setDate] = useState('');
  const [result, create] = useMutation(CreateRelease);
  const errors = result.data?.createRelease.userErrors;
  const upcCheck = upc ? checkUpc(upc) : null;
  return (
    <form
      className="card inline-form"
      aria-labelledby="new-release"
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await create({ input: { artistId: artistId || artists[0]?.id, title, upc: upc || null, releaseType: type, releaseDate: date || null } });
        if (r.data?.createRelease.release) {
          setTitle('');
          setUpc('');
        }
      }}
    >
      <h2 id="new-release">Add a release</h2>
      <FormErrors messages={otherErrors(errors, ['artistId', 'title', 'upc', 'releaseType', 'releaseDate'])} />
      <Select label="Artist" value={artistId} onChange={(e) => setArtistId(e.target.value)} errors={errorsFor(errors, 'artistId')}>
        {artists.map((a) => (
          <option key={a.id} value={a.id}>{a.name}</option>
        ))}
      </Select>
      <Field label="Title" value={title} onChange={(e) => setTitle(e.target.value)} errors={errorsFor(errors, 'title')} required />
      <Field
        label="UPC (optional)"
        value={upc}
        onChange={(e) => setUpc(e.target.value)}
        inputMode="numeric"
        errors={[...(upcCheck && !upcCheck.ok ? [upcCheck.message] : []), ...errorsFor(errors, 'upc')]}
        hint={upcCheck?.ok ? 'Valid UPC' : undefined}
      />
      <Field label="Release date (optional)" type="date" value={date} onChange={(e) => setDate(e.target.value)} errors={errorsFor(errors, 'releaseDate')} />
      <Select label="Type" value={type} onChange={(e) => setType(e.target.value as 'SINGLE')}>
        <option value="SINGLE">Single</option>
        <option value="EP">EP</option>
        <option value="ALBUM">Album</option>
        <option value="COMPILATION">Compilation</option>
      </Select>
      <button className="primary" type="submit" disabled={!!upcCheck && !upcCheck.ok}>Add release</button>
    </form>
  );
}

function ReleaseCard({ release, payees, canWrite }: { release: Release; payees: Payee[]; canWrite: boolean }) {
  const [statusResult, setStatus] = useMutation(SetStatus);
  const statusErrors = statusResult.data?.setReleaseStatus.userErrors;
  return (
    <article className="card release" aria-labelledby={`release-${release.id}`}>
      <header className="release-head">
        <h2 id={`release-${release.id}`}>{release.title}</h2>
        <span className={`badge status-${release.status.toLowerCase()}`}>{statusWords[release.status]}</span>
      </header>
      <p className="muted">
        {release.artist?.name} · {release.releaseType.toLowerCase()} {release.upc ? `· UPC ${release.upc}` : ''}
      </p>
      {canWrite ? (
        <div className="actions" role="group" aria-label={`Status of ${release.title}`}>
          {nextStatuses[release.status].map((s) => (
            <button key={s} onClick={() => setStatus({ input: { releaseId: release.id, status: s } })}>
              Mark {statusWords[s].toLowerCase()}
            </button>
          ))}
          <FormErrors messages={(statusErrors ?? []).map((e) => e.message)} />
        </div>
      ) : null}
      <h3>Tracks</h3>
      <ol className="tracks">
        {release.tracks.map((t) => (
          <li key={t.id}>
            {t.title} <span className="muted">{t.isrc ?? 'no ISRC'}</span>
          </li>
        ))}
      </ol>
      {canWrite ? <NewTrack releaseId={release.id} /> : null}
      <SplitEditor release={release} payees={payees} canWrite={canWrite} />
    </article>
  );
}

function NewTrack({ releaseId }: { releaseId: string }) {
  const [title, setTitle] = useState('');
  const [isrc, setIsrc] = useState('');
  const [result, add] = useMutation(AddTrack);
  const errors = result.data?.addTrack.userErrors;
  const check = isrc ? checkIsrc(isrc) : null;
  return (
    <form
      className="subform"
      aria-label="Add a track"
      onSubmit={async (e) => {
        e.preventDefault();
        const r = await add({ input: { releaseId, title, isrc: isrc || null } });
        if (r.data?.addTrack.track) {
          setTitle('');
          setIsrc('');
        }
      }}
    >
      <FormErrors messages={otherErrors(errors, ['title', 'isrc'])} />
      <Field label="Track title" value={title} onChange={(e) => setTitle(e.target.value)} errors={errorsFor(errors, 'title')} required />
      <Field
        label="ISRC"
        value={isrc}
        onChange={(e) => setIsrc(e.target.value)}
        errors={[...(check && !check.ok ? [check.message] : []), ...errorsFor(errors, 'isrc')]}
        hint={check?.ok ? 'Valid ISRC' : undefined}
      />
      <button type="submit" disabled={!!check && !check.ok}>Add track</button>
    </form>
  );
}
