// Editing an artist and recording her leaving: updateArtist and artistLeaves, each userError
// next to the field it names.
import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import { Field } from '../lib/Field';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';
import { exitWords } from '../lib/exit';

const UpdateArtist = graphql(`
  mutation UpdateArtist($input: UpdateArtistInput!) {
    updateArtist(input: $input) { artist { id name sortName } userErrors { field message code } }
  }
`);
const ArtistLeaves = graphql(`
  mutation ArtistLeaves($input: ArtistLeavesInput!) {
    artistLeaves(input: $input) {
      artist { id name leftOn }
      agreement { id title }
      mastersRevertOn
      takenDownReleases { id title status }
      userErrors { field message code }
    }
  }
`);

/** Renames an artist (and her sort name), behind a disclosure so the card stays short. */
export function EditArtist({ artist }: { artist: { id: string; name: string; sortName?: string | null } }) {
  const [name, setName] = useState(artist.name);
  const [sortName, setSortName] = useState(artist.sortName ?? '');
  const [saved, setSaved] = useState(false);
  const [result, update] = useMutation(UpdateArtist);
  const errors = result.data?.updateArtist.userErrors;
  return (
    <details className="subform">
      <summary>Edit {artist.name}</summary>
      <form
        aria-label={`Edit ${artist.name}`}
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved(false);
          const r = await update({ input: { artistId: artist.id, name, sortName: sortName || null } }, { additionalTypenames: ['Artist'] });
          setSaved(!!r.data?.updateArtist.artist && r.data.updateArtist.userErrors.length === 0);
        }}
      >
        <FormErrors messages={otherErrors(errors, ['name', 'sortName'])} />
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} errors={errorsFor(errors, 'name')} />
        <Field label="Sort name (optional)" value={sortName} onChange={(e) => setSortName(e.target.value)} errors={errorsFor(errors, 'sortName')}
          hint="How the name sorts, e.g. “Vesper, Ada”." />
        <button type="submit" disabled={result.fetching}>Save</button>
        {saved ? <p role="status" className="ok">Saved.</p> : null}
      </form>
    </details>
  );
}

/** Records that an artist left; `onLeft` gets what her agreement's exit terms did, in words. */
export function RecordLeaving({ artist, onLeft }: { artist: { id: string; name: string }; onLeft: (what: string) => void }) {
  const [leftOn, setLeftOn] = useState(new Date().toISOString().slice(0, 10));
  const [result, leave] = useMutation(ArtistLeaves);
  const errors = result.data?.artistLeaves.userErrors;
  return (
    <details className="subform">
      <summary>Record {artist.name} leaving</summary>
      <form
        aria-label={`Record ${artist.name} leaving`}
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await leave({ input: { artistId: artist.id, leftOn } });
          const done = r.data?.artistLeaves;
          if (done?.artist?.leftOn && done.userErrors.length === 0) onLeft(exitWords(artist.name, done));
        }}
      >
        <p className="hint">Her agreement’s exit terms apply at once: when the masters revert, and whether her releases are taken down.</p>
        <FormErrors messages={otherErrors(errors, ['leftOn', 'artistId'])} />
        <Field label="Left on" type="date" value={leftOn} onChange={(e) => setLeftOn(e.target.value)} errors={[...errorsFor(errors, 'leftOn'), ...errorsFor(errors, 'artistId')]} required />
        <button type="submit" disabled={result.fetching}>Record leaving</button>
      </form>
    </details>
  );
}
