import { everything } from '../lib/client';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import { useSession } from '../session';
import { Figures } from './Dashboard';
import { AgreementWords } from '../lib/AgreementWords';
import { formatMoney } from '../lib/money';
import { download } from '../lib/client';
import { FormErrors } from '../lib/errors';
import { claimWords, storeNames } from './Roster';

// Her page in one query: her artist, payees, payouts, agreements, splits and figures.
const ArtistHomeDoc = graphql(`
  query ArtistHome($org: ID!) {
    viewer {
      memberships {
        organizationId
        artist {
          id name
          profiles { id store externalId url claimState }
          agreements {
            id title masterOwner labelMasterShare artistRevenueShare labelRevenueShare dealBasis recoupmentScope
            advance { amount currency } artistMayTakeDown mastersRevertAfterMonths mastersRevertOn exitReleasePolicy
            futureRights futureOptionsCount startsOn endsOn
          }
          releases(first: 100) { nodes { id title status currentSplit { id effectiveFrom consent { confirmed pending } shares { id payee { id } payeeName share confirmed } } } }
          payees {
            id name
            balances { currency earned { amount currency } paid { amount currency } unpaid { amount currency } }
            payouts(first: 50) {
              nodes {
                id status paidAt paymentReference statementCsvUrl statementPdfUrl
                payable { amount currency } earnings { amount currency }
                payoutRun { id periodEnd status }
              }
            }
          }
        }
      }
    }
    rosterOverview(organizationId: $org) {
      from to
      totals { quantity earnings { amount currency } }
      previousTotals { quantity earnings { amount currency } }
      artists { artist { id } artistName changePercent current { earnings { amount currency } quantity } previous { earnings { amount currency } } }
      byMonth { month figures { earnings { amount currency } quantity } }
      topStores { store figures { earnings { amount currency } } }
      topTerritories { territory figures { earnings { amount currency } } }
      topTracks { trackTitle artistName figures { earnings { amount currency } quantity } }
    }
  }
`);
const Updates = graphql(`
  subscription ArtistPayoutUpdates($org: ID!) {
    payoutUpdates(organizationId: $org) { payoutRunId status }
  }
`);

const Claim = graphql(`
  mutation ClaimArtistProfile($input: ClaimArtistProfileInput!) {
    claimArtistProfile(input: $input) { artistProfile { id claimState } userErrors { field message code } }
  }
`);

const Confirm = graphql(`
  mutation ConfirmSplitShare($input: ConfirmSplitShareInput!) {
    confirmSplitShare(input: $input) { splitShare { id confirmed } userErrors { field message code } }
  }
`);

const payoutWords: Record<string, string> = { PENDING: 'on its way', CARRIED_FORWARD: 'carried to the next period', PAID: 'paid', CANCELLED: 'cancelled' };

export default function ArtistHome() {
  const { org } = useSession();
  const [{ data }, refetch] = useQuery({ query: ArtistHomeDoc, variables: { org: org.id }, context: everything });
  // A run that pays her changes: read her page again, so the payout arrives live.
  const [live] = useSubscription({ query: Updates, variables: { org: org.id } }, (_prev, event) => {
    refetch({ requestPolicy: 'network-only' });
    return event;
  });
  const artist = data?.viewer.memberships.find((m) => m.organizationId === org.id)?.artist;
  if (!data) return <p className="loading">Loading…</p>;
  if (!artist) return <p>Your membership is not linked to an artist yet.</p>;
  const myPayees = new Set(artist.payees.map((p) => p.id));
  const payouts = artist.payees.flatMap((p) => p.payouts.nodes.map((n) => ({ ...n, payeeName: p.name })));
  return (
    <>
      <h1>{artist.name}</h1>
      <section className="card" aria-labelledby="payouts">
        <h2 id="payouts">Your payouts</h2>
        <p className="muted" aria-live="polite">
          {live.data ? `Updated just now: a payout run is ${live.data.payoutUpdates.status.toLowerCase()}.` : 'Payouts update here as soon as the label pays.'}
        </p>
        {artist.payees.flatMap((p) =>
          p.balances.map((b) => (
            <p key={p.id + b.currency}>
              Earned {formatMoney(b.earned)}, paid {formatMoney(b.paid)}, still to come {formatMoney(b.unpaid)}.
            </p>
          )),
        )}
        {payouts.length === 0 ? <p className="empty">No payouts yet.</p> : null}
        <div className="table-wrap">
          <table>
            <thead>
              <tr><th scope="col">Period to</th><th scope="col" className="num">Earnings</th><th scope="col" className="num">Payable</th><th scope="col">Status</th><th scope="col">Statement</th></tr>
            </thead>
            <tbody>
              {payouts.map((p) => (
                <tr key={p.id} data-testid="artist-payout">
                  <th scope="row">{p.payoutRun?.periodEnd}</th>
                  <td className="num">{formatMoney(p.earnings)}</td>
                  <td className="num">{formatMoney(p.payable)}</td>
                  <td data-testid="artist-payout-status">{payoutWords[p.status] ?? p.status}{p.paymentReference ? ` (${p.paymentReference})` : ''}</td>
                  <td>
                    <button className="link" onClick={() => download(p.statementPdfUrl, `statement-${p.payoutRun?.periodEnd}.pdf`)}>PDF</button>{' '}
                    <button className="link" onClick={() => download(p.statementCsvUrl, `statement-${p.payoutRun?.periodEnd}.csv`)}>CSV</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <Figures overview={data.rosterOverview} currency={org.baseCurrency} showArtists={false} />
      <section className="card" aria-labelledby="deal">
        <h2 id="deal">Your agreement</h2>
        {artist.agreements.length === 0 ? <p className="empty">No agreement recorded.</p> : null}
        {artist.agreements.map((a) => <AgreementWords key={a.id} agreement={a} title={a.title} />)}
      </section>
      <section className="card" aria-labelledby="profiles">
        <h2 id="profiles">Your store profiles</h2>
        <ul>
          {artist.profiles.map((p) => <Profile key={p.id} profile={p} />)}
        </ul>
      </section>
      <section className="card" aria-labelledby="splits">
        <h2 id="splits">Your splits</h2>
        <ul>
          {artist.releases.nodes.map((r) => (
            <li key={r.id}>
              <strong>{r.title}</strong>:{' '}
              {r.currentSplit ? (
                <ul>
                  {r.currentSplit.shares.map((s) => (
                    <SplitShareLine key={s.id} share={s} mine={!!s.payee && myPayees.has(s.payee.id)} release={r.title} />
                  ))}
                </ul>
              ) : (
                'no split yet'
              )}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

/** Claiming a store profile is her own act; the label only sees where it stands. */
function Profile({ profile }: { profile: { id: string; store: string; claimState: string } }) {
  const [result, claim] = useMutation(Claim);
  const name = storeNames[profile.store] ?? profile.store;
  return (
    <li>
      {name}: {claimWords[profile.claimState]}{' '}
      {profile.claimState === 'UNCLAIMED' ? (
        <button onClick={() => claim({ input: { artistProfileId: profile.id, claimState: 'CLAIMED' } })}>Claim {name}</button>
      ) : null}
      <FormErrors messages={(result.data?.claimArtistProfile.userErrors ?? []).map((e) => e.message)} />
    </li>
  );
}

/** Split consent: she confirms her own share; the others' state is shown beside theirs. */
function SplitShareLine({ share, mine, release }: { share: { id: string; payeeName: string; share: string; confirmed: boolean }; mine: boolean; release: string }) {
  const [result, confirm] = useMutation(Confirm);
  return (
    <li>
      {share.payeeName} {Number(share.share)} % — {share.confirmed ? 'confirmed' : 'not confirmed yet'}{' '}
      {mine && !share.confirmed ? (
        <button onClick={() => confirm({ input: { splitShareId: share.id } })}>Confirm my share of {release}</button>
      ) : null}
      <FormErrors messages={(result.data?.confirmSplitShare.userErrors ?? []).map((e) => e.message)} />
    </li>
  );
}
