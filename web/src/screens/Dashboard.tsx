import { everything } from '../lib/client';
import { useCallback, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { DashboardQuery } from '../gql/graphql';
import { useSession } from '../session';
import { Bars, MonthChart } from '../lib/Chart';
import { formatChange, formatMoney, formatNumber } from '../lib/money';
import { lastMonths, monthLabel, year, type Period } from '../lib/period';
import { Select } from '../lib/Field';

// One query for the whole screen: no waterfall.
const DashboardDoc = graphql(`
  query Dashboard($org: ID!, $period: PeriodInput, $artistIds: [ID!], $releaseIds: [ID!]) {
    organization(id: $org) {
      id
      artists(first: 100) { nodes { id name } }
      releases(first: 100) { nodes { id title } }
    }
    rosterOverview(organizationId: $org, period: $period, artistIds: $artistIds, releaseIds: $releaseIds) {
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

type Choice = 'latest' | 'last12' | 'thisYear' | 'lastYear';
const today = () => new Date().toISOString().slice(0, 10);
function periodOf(choice: Choice): Period | null {
  const y = Number(today().slice(0, 4));
  if (choice === 'last12') return lastMonths(today(), 12);
  if (choice === 'thisYear') return year(y);
  if (choice === 'lastYear') return year(y - 1);
  return null;
}

export default function Dashboard() {
  const { org } = useSession();
  const [choice, setChoice] = useState<Choice>('latest');
  const [artistId, setArtistId] = useState('');
  const [releaseId, setReleaseId] = useState('');
  const period = periodOf(choice);
  const variables = useMemo(
    () => ({
      org: org.id,
      period,
      artistIds: artistId ? [artistId] : null,
      releaseIds: releaseId ? [releaseId] : null,
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [org.id, choice, artistId, releaseId],
  );
  const [{ data, fetching }] = useQuery({ query: DashboardDoc, variables, context: everything });
  return (
    <>
      <h1>Dashboard</h1>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <Select label="Period" value={choice} onChange={(e) => setChoice(e.target.value as Choice)}>
          <option value="latest">Latest 12 months with sales</option>
          <option value="last12">Last 12 months</option>
          <option value="thisYear">This year</option>
          <option value="lastYear">Last year</option>
        </Select>
        <Select label="Artist" value={artistId} onChange={(e) => setArtistId(e.target.value)}>
          <option value="">All artists</option>
          {data?.organization?.artists.nodes.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
        </Select>
        <Select label="Release" value={releaseId} onChange={(e) => setReleaseId(e.target.value)}>
          <option value="">All releases</option>
          {data?.organization?.releases.nodes.map((r) => <option key={r.id} value={r.id}>{r.title}</option>)}
        </Select>
      </form>
      {data ? <Figures overview={data.rosterOverview} currency={org.baseCurrency} /> : <p className="loading">{fetching ? 'Loading…' : ''}</p>}
    </>
  );
}

/** The overview's shape, as both the dashboard and the artist's page ask for it. */
export type Overview = DashboardQuery['rosterOverview'];

export function Figures({ overview: o, currency, showArtists = true }: { overview: Overview; currency: string; showArtists?: boolean }) {
  // Exactly the period's months, from the server (months without sales are zeros).
  const months = o.byMonth.filter((r) => r.month);
  const fmt = useCallback((v: number) => formatMoney({ amount: String(v), currency }).replace(/\.00$/, ''), [currency]);
  const monthKeys = useMemo(() => months.map((m) => m.month!), [o]); // eslint-disable-line react-hooks/exhaustive-deps
  const monthValues = useMemo(() => months.map((m) => Number(m.figures.earnings.amount)), [o]); // eslint-disable-line react-hooks/exhaustive-deps
  const change = (() => {
    const now = Number(o.totals.earnings.amount);
    const before = Number(o.previousTotals.earnings.amount);
    return before > 0 ? String(((now - before) / before) * 100) : null;
  })();
  const money = (m: { amount: string; currency: string }) => formatMoney(m);
  return (
    <>
      <section className="kpis" aria-label="Totals">
        <div className="kpi">
          <span className="kpi-label">Earnings, {monthLabel(o.from)} to {monthLabel(o.to)}</span>
          <span className="kpi-value" data-testid="total-earnings">{money(o.totals.earnings)}</span>
          <span className="kpi-sub" data-testid="against-previous">
            {`${formatChange(change)} against the previous period (${money(o.previousTotals.earnings)})`}
          </span>
        </div>
        <div className="kpi">
          <span className="kpi-label">Units and streams</span>
          <span className="kpi-value">{formatNumber(o.totals.quantity)}</span>
          <span className="kpi-sub">{`${formatNumber(o.previousTotals.quantity)} the period before`}</span>
        </div>
      </section>
      <section className="card" aria-labelledby="by-month">
        <h2 id="by-month">Earnings by month</h2>
        <MonthChart months={monthKeys} values={monthValues} label="Earnings" format={fmt} />
        <details>
          <summary>As a table</summary>
          <table data-testid="month-table">
            <tbody>
              {months.map((m) => (
                <tr key={m.month}><th scope="row">{monthLabel(m.month!)}</th><td className="num">{money(m.figures.earnings)}</td></tr>
              ))}
            </tbody>
          </table>
        </details>
      </section>
      <div className="grid2">
        <section className="card" aria-label="By store">
          <Bars caption="By store" rows={o.topStores.map((r) => ({ label: r.store ?? 'Unknown', value: Number(r.figures.earnings.amount), text: money(r.figures.earnings) }))} />
        </section>
        <section className="card" aria-label="By territory">
          <Bars caption="By territory" rows={o.topTerritories.map((r) => ({ label: r.territory ?? 'Unknown', value: Number(r.figures.earnings.amount), text: money(r.figures.earnings) }))} />
        </section>
      </div>
      <section className="card" aria-label="Top tracks">
        <Bars caption="Top tracks" rows={o.topTracks.map((r) => ({ label: `${r.trackTitle ?? 'Unknown'}${r.artistName ? ' — ' + r.artistName : ''}`, value: Number(r.figures.earnings.amount), text: money(r.figures.earnings) }))} />
      </section>
      {showArtists ? (
        <section className="card" aria-labelledby="artists-vs">
          <h2 id="artists-vs">Artists against the previous period</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr><th scope="col">Artist</th><th scope="col" className="num">This period</th><th scope="col" className="num">Previous</th><th scope="col" className="num">Change</th></tr>
              </thead>
              <tbody>
                {o.artists.map((a) => (
                  <tr key={a.artist?.id ?? a.artistName}>
                    <th scope="row">{a.artistName ?? '—'}</th>
                    <td className="num">{money(a.current.earnings)}</td>
                    <td className="num">{money(a.previous.earnings)}</td>
                    <td className={`num ${a.changePercent && a.changePercent.startsWith('-') ? 'down' : 'up'}`}>{formatChange(a.changePercent)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </>
  );
}
