import { everything } from '../lib/client';
import { useState } from 'react';
import { useClient, useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import type { PayoutRunStatus } from '../gql/graphql';
import { useSession } from '../session';
import { Field, Select } from '../lib/Field';
import { LoadMore, useLoadMore } from '../lib/pages';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';
import { formatMoney, formatNumber } from '../lib/money';
import { endOfLastMonth } from '../lib/period';
import { download, saveBlob } from '../lib/client';

const MoneyQuery = graphql(`
  query Money($org: ID!) {
    organization(id: $org) {
      id
      moneySummary {
        currency balanced
        allocated { amount currency } paid { amount currency } carriedForward { amount currency }
        reserved { amount currency } recouped { amount currency } pending { amount currency }
      }
      artists(first: 100, current: true) { nodes { id name } }
      releases(first: 100) { nodes { id title artist { name } } }
      recoupables(first: 100) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id kind description incurredOn amount { amount currency } recouped { amount currency } remaining { amount currency } payee { name } release { title } }
      }
      payees(first: 100) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id name kind balances { currency earned { amount currency } recouped { amount currency } paid { amount currency } reserved { amount currency } unpaid { amount currency } } }
      }
      payoutRuns(first: 20) {
        nodes {
          id periodEnd status failureReason createdAt approvedAt paidAt
          totals { currency payeeCount payable { amount currency } carriedForward { amount currency } }
          payouts(first: 100) {
            nodes {
              id status currency belowMinimum paymentReference statementCsvUrl statementPdfUrl
              payee { id name }
              broughtForward { amount currency } earnings { amount currency } recouped { amount currency } reserved { amount currency }
              payable { amount currency } carriedForward { amount currency }
            }
          }
        }
      }
    }
  }
`);
const RecoupablesMore = graphql(`
  query RecoupablesMore($org: ID!, $after: String) {
    organization(id: $org) {
      id
      recoupables(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id kind description incurredOn amount { amount currency } recouped { amount currency } remaining { amount currency } payee { name } release { title } }
      }
    }
  }
`);
const PayeesMore = graphql(`
  query PayeesMore($org: ID!, $after: String) {
    organization(id: $org) {
      id
      payees(first: 100, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id name kind balances { currency earned { amount currency } recouped { amount currency } paid { amount currency } reserved { amount currency } unpaid { amount currency } } }
      }
    }
  }
`);
const AddRecoupable = graphql(`
  mutation AddRecoupable($input: AddRecoupableInput!) {
    addRecoupable(input: $input) { recoupables { id } userErrors { field message code } }
  }
`);
const Updates = graphql(`
  subscription LabelPayoutUpdates($org: ID!) {
    payoutUpdates(organizationId: $org) { payoutRunId status }
  }
`);
const CreateRun = graphql(`
  mutation CreatePayoutRun($input: CreatePayoutRunInput!) {
    createPayoutRun(input: $input) { payoutRun { id status } userErrors { field message code } }
  }
`);
const ApproveRun = graphql(`
  mutation ApprovePayoutRun($input: PayoutRunInput!) {
    approvePayoutRun(input: $input) { payoutRun { id status } userErrors { field message code } }
  }
`);
const CancelRun = graphql(`
  mutation CancelPayoutRun($input: PayoutRunInput!) {
    cancelPayoutRun(input: $input) { payoutRun { id status } userErrors { field message code } }
  }
`);
const PayRun = graphql(`
  mutation MarkPayoutRunPaid($input: MarkPayoutRunPaidInput!) {
    markPayoutRunPaid(input: $input) { payoutRun { id status paidAt } userErrors { field message code } }
  }
`);

const runWords: Record<PayoutRunStatus, string> = {
  DRAFT: 'Draft', COMPUTING: 'Computing', READY: 'Ready for review', APPROVED: 'Approved', PAID: 'Paid', FAILED: 'Failed', CANCELLED: 'Cancelled',
};

export default function Money() {
  const { org, canWrite } = useSession();
  const [{ data }, refetch] = useQuery({ query: MoneyQuery, variables: { org: org.id }, context: everything });
  // Every run update (computed, approved, paid) reads the money again: it is live.
  useSubscription({ query: Updates, variables: { org: org.id } }, (_prev, event) => {
    refetch({ requestPolicy: 'network-only' });
    return event;
  });
  const client = useClient();
  const recoupables = useLoadMore(data?.organization?.recoupables, async (after) =>
    (await client.query(RecoupablesMore, { org: org.id, after }, { requestPolicy: 'network-only' }).toPromise()).data?.organization?.recoupables,
  );
  const payees = useLoadMore(data?.organization?.payees, async (after) =>
    (await client.query(PayeesMore, { org: org.id, after }, { requestPolicy: 'network-only' }).toPromise()).data?.organization?.payees,
  );
  const o = data?.organization;
  if (!o) return <p className="loading">Loading…</p>;
  return (
    <>
      <h1>Money</h1>
      <section aria-labelledby="summary">
        <h2 id="summary">Summary</h2>
        {o.moneySummary.length === 0 ? <p className="empty">Nothing allocated yet.</p> : null}
        <div className="cards">
          {o.moneySummary.map((m) => (
            <div className="card" key={m.currency}>
              <dl className="facts">
                <dt>Allocated</dt><dd>{formatMoney(m.allocated)}</dd>
                <dt>Paid</dt><dd>{formatMoney(m.paid)}</dd>
                <dt>Carried forward</dt><dd>{formatMoney(m.carriedForward)}</dd>
                <dt>Reserved</dt><dd>{formatMoney(m.reserved)}</dd>
                <dt>Recouped</dt><dd>{formatMoney(m.recouped)}</dd>
                <dt>Pending</dt><dd>{formatMoney(m.pending)}</dd>
              </dl>
              <p className={m.balanced ? 'ok' : 'warn'}>{m.balanced ? 'The books balance.' : 'The books do not balance: look at the ledger.'}</p>
            </div>
          ))}
        </div>
      </section>
      <section aria-labelledby="runs">
        <h2 id="runs">Payout runs</h2>
        {canWrite ? <NewRun /> : null}
        {o.payoutRuns.nodes.map((run) => (
          <Run key={run.id} run={run} canWrite={canWrite} />
        ))}
      </section>
      <section aria-labelledby="balances">
        <h2 id="balances">Payee balances</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Payee</th><th scope="col" className="num">Earned</th><th scope="col" className="num">Recouped</th>
                <th scope="col" className="num">Paid</th><th scope="col" className="num">Reserved</th><th scope="col" className="num">Unpaid</th>
              </tr>
            </thead>
            <tbody>
              {payees.nodes.flatMap((p) =>
                p.balances.map((b) => (
                  <tr key={p.id + b.currency}>
                    <th scope="row">{p.name}</th>
                    <td className="num">{formatMoney(b.earned)}</td>
                    <td className="num">{formatMoney(b.recouped)}</td>
                    <td className="num">{formatMoney(b.paid)}</td>
                    <td className="num">{formatMoney(b.reserved)}</td>
                    <td className="num">{formatMoney(b.unpaid)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
        <LoadMore more={payees.more} loading={payees.loading} error={payees.error} shown={payees.nodes.length} totalCount={payees.totalCount} what="payees" />
      </section>
      <section aria-labelledby="recoupables">
        <h2 id="recoupables">Advances and expenses</h2>
        {canWrite ? (
          <NewRecoupable artists={o.artists.nodes} payees={payees.nodes} releases={o.releases.nodes}
            onAdded={() => refetch({ requestPolicy: 'network-only' })} />
        ) : null}
        {recoupables.nodes.length === 0 ? <p className="empty">None.</p> : null}
        <ul data-testid="recoupables">
          {recoupables.nodes.map((r) => (
            <li key={r.id}>
              {r.kind === 'ADVANCE' ? 'Advance' : 'Expense'} to {r.payee?.name ?? '—'}: {r.description} — {formatMoney(r.amount)}, {formatMoney(r.recouped)} won back,{' '}
              {formatMoney(r.remaining)} to go
            </li>
          ))}
        </ul>
        <LoadMore more={recoupables.more} loading={recoupables.loading} error={recoupables.error} shown={recoupables.nodes.length}
          totalCount={recoupables.totalCount} what="advances and expenses" />
      </section>
    </>
  );
}

/** An advance or expense to recoup, from an artist's earnings or a payee's. */
function NewRecoupable({ artists, payees, releases, onAdded }: {
  artists: { id: string; name: string }[];
  payees: { id: string; name: string }[];
  releases: { id: string; title: string; artist?: { name: string } | null }[];
  onAdded: () => void;
}) {
  const { org } = useSession();
  const [kind, setKind] = useState<'ADVANCE' | 'EXPENSE'>('ADVANCE');
  const [description, setDescription] = useState('');
  const [amount, setAmount] = useState('');
  const [incurredOn, setIncurredOn] = useState(new Date().toISOString().slice(0, 10));
  // "artist:<id>" or "payee:<id>": who recoups it.
  const [who, setWho] = useState('');
  const [releaseId, setReleaseId] = useState('');
  const [added, setAdded] = useState('');
  const [result, add] = useMutation(AddRecoupable);
  const errors = result.data?.addRecoupable.userErrors;
  const fields = ['kind', 'description', 'amount', 'incurredOn', 'artistId', 'payeeId', 'releaseId'];
  return (
    <form
      className="card inline-form"
      aria-labelledby="new-recoupable"
      onSubmit={async (e) => {
        e.preventDefault();
        setAdded('');
        const [whoKind, whoId] = who.split(':');
        const r = await add({
          input: {
            organizationId: org.id, kind, description, amount, incurredOn,
            artistId: whoKind === 'artist' ? whoId : null,
            payeeId: whoKind === 'payee' ? whoId : null,
            releaseId: releaseId || null,
          },
        });
        const payload = r.data?.addRecoupable;
        if (payload && payload.userErrors.length === 0) {
          setAdded(`${kind === 'ADVANCE' ? 'Advance' : 'Expense'} “${description}” recorded.`);
          setDescription('');
          setAmount('');
          onAdded();
        }
      }}
    >
      <h3 id="new-recoupable">Add an advance or expense</h3>
      <FormErrors messages={otherErrors(errors, fields)} />
      <Select label="Kind" value={kind} onChange={(e) => setKind(e.target.value as 'ADVANCE')} errors={errorsFor(errors, 'kind')}>
        <option value="ADVANCE">Advance</option>
        <option value="EXPENSE">Expense</option>
      </Select>
      <Field label="Description" value={description} onChange={(e) => setDescription(e.target.value)} errors={errorsFor(errors, 'description')} required />
      <Field label={`Amount (${org.baseCurrency})`} value={amount} onChange={(e) => setAmount(e.target.value)} inputMode="decimal" errors={errorsFor(errors, 'amount')} required />
      <Field label="Incurred on" type="date" value={incurredOn} onChange={(e) => setIncurredOn(e.target.value)} errors={errorsFor(errors, 'incurredOn')} required />
      <Select label="Recouped from" value={who} onChange={(e) => setWho(e.target.value)} errors={[...errorsFor(errors, 'artistId'), ...errorsFor(errors, 'payeeId')]}>
        <option value="">Choose an artist or payee…</option>
        <optgroup label="Artists">
          {artists.map((a) => <option key={a.id} value={`artist:${a.id}`}>{a.name}</option>)}
        </optgroup>
        <optgroup label="Payees">
          {payees.map((p) => <option key={p.id} value={`payee:${p.id}`}>{p.name}</option>)}
        </optgroup>
      </Select>
      <Select label="Only from this release (optional)" value={releaseId} onChange={(e) => setReleaseId(e.target.value)} errors={errorsFor(errors, 'releaseId')}>
        <option value="">Any release</option>
        {releases.map((r) => <option key={r.id} value={r.id}>{r.title}{r.artist ? ` (${r.artist.name})` : ''}</option>)}
      </Select>
      <button className="primary" type="submit" disabled={result.fetching}>Add</button>
      {added ? <p role="status" className="ok">{added}</p> : null}
    </form>
  );
}

function NewRun() {
  const { org } = useSession();
  const [periodEnd, setPeriodEnd] = useState(endOfLastMonth(new Date().toISOString().slice(0, 10)));
  const [result, create] = useMutation(CreateRun);
  const errors = result.data?.createPayoutRun.userErrors;
  return (
    <form
      className="card inline-form"
      aria-label="Start a payout run"
      onSubmit={(e) => {
        e.preventDefault();
        create({ input: { organizationId: org.id, periodEnd } });
      }}
    >
      <FormErrors messages={otherErrors(errors, ['periodEnd'])} />
      <Field label="Pay earnings up to" type="date" value={periodEnd} onChange={(e) => setPeriodEnd(e.target.value)} errors={errorsFor(errors, 'periodEnd')} />
      <button className="primary" type="submit">Start payout run</button>
    </form>
  );
}

const RunRails = graphql(`
  query RunRails($id: ID!) {
    node(id: $id) {
      ... on PayoutRun {
        id
        rails {
          wiseBatchCsvUrl paypalPayoutsCsvUrl sepaCreditTransferUrl
          totals { rail currency payoutCount amount { amount currency } }
          payoutsWithoutUsableDetails { reason payout { id payee { name } } }
        }
      }
    }
  }
`);

const railWords: Record<string, string> = { WISE: 'Wise', PAYPAL: 'PayPal', SEPA: 'SEPA' };

/** The payment files of an approved run, made by the server from each payee's payment details. */
function RailFiles({ run }: { run: RunT }) {
  const [{ data, error }] = useQuery({ query: RunRails, variables: { id: run.id } });
  const node = data?.node;
  const rails = node && 'rails' in node ? node.rails : null;
  if (error) return <p className="field-error">{error.message}</p>;
  if (!rails) return null;
  const files: [string, string, string][] = [
    ['Wise batch CSV', rails.wiseBatchCsvUrl, `wise-${run.periodEnd}.csv`],
    ['PayPal Payouts CSV', rails.paypalPayoutsCsvUrl, `paypal-${run.periodEnd}.csv`],
    ['SEPA transfer (pain.001)', rails.sepaCreditTransferUrl, `sepa-${run.periodEnd}.xml`],
  ];
  return (
    <section aria-label="Payment files">
      <h4>Payment files</h4>
      {rails.totals.length ? (
        <ul>
          {rails.totals.map((t) => (
            <li key={`${t.rail}-${t.currency}`}>
              {railWords[t.rail] ?? t.rail}: {formatNumber(t.payoutCount)} payouts, {formatMoney(t.amount)}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="actions">
        {files.map(([label, url, name]) => (
          <button key={label} onClick={() => download(url, name).catch((e: Error) => alert(e.message))}>{label}</button>
        ))}
      </div>
      {rails.payoutsWithoutUsableDetails.length ? (
        <>
          <p>Not in any file (add their payment details):</p>
          <ul data-testid="unpayable">
            {rails.payoutsWithoutUsableDetails.map((u) => (
              <li key={u.payout.id}>{u.payout.payee?.name}: {u.reason}</li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

type RunT = NonNullable<import('../gql/graphql').MoneyQuery['organization']>['payoutRuns']['nodes'][number];

function exportCsv(run: RunT) {
  const rows = [['payee', 'currency', 'payable', 'carried_forward', 'status', 'payment_reference']];
  for (const p of run.payouts.nodes) rows.push([p.payee?.name ?? '', p.currency, p.payable.amount, p.carriedForward.amount, p.status, p.paymentReference ?? '']);
  const csv = rows.map((r) => r.map((c) => `"${c.replace(/"/g, '""')}"`).join(',')).join('\r\n');
  saveBlob(new Blob([csv], { type: 'text/csv' }), `payout-run-${run.periodEnd}.csv`);
}

function Run({ run, canWrite }: { run: RunT; canWrite: boolean }) {
  const [approved, approve] = useMutation(ApproveRun);
  const [cancelled, cancel] = useMutation(CancelRun);
  const [paid, pay] = useMutation(PayRun);
  const payable = run.payouts.nodes.filter((p) => p.status === 'PENDING' && Number(p.payable.amount) > 0);
  const [refs, setRefs] = useState<Record<string, string>>({});
  const errors = [
    ...(approved.data?.approvePayoutRun.userErrors ?? []),
    ...(cancelled.data?.cancelPayoutRun.userErrors ?? []),
    ...(paid.data?.markPayoutRunPaid.userErrors ?? []),
  ];
  const id = `run-${run.id}`;
  return (
    <article className="card run" aria-labelledby={id}>
      <header className="release-head">
        <h3 id={id}>Run to {run.periodEnd}</h3>
        <span className={`badge run-${run.status.toLowerCase()}`} data-testid="run-status">{runWords[run.status]}</span>
      </header>
      {run.failureReason ? <p className="field-error">{run.failureReason}</p> : null}
      <p>
        {run.totals.map((t) => `${formatNumber(t.payeeCount)} payees, ${formatMoney(t.payable)} to pay, ${formatMoney(t.carriedForward)} carried forward`).join('; ')}
      </p>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Payee</th><th scope="col" className="num">Earnings</th><th scope="col" className="num">Recouped</th>
              <th scope="col" className="num">Payable</th><th scope="col">Status</th><th scope="col">Statement</th>
              {run.status === 'APPROVED' && canWrite ? <th scope="col">Payment reference</th> : null}
            </tr>
          </thead>
          <tbody>
            {run.payouts.nodes.map((p) => (
              <tr key={p.id}>
                <th scope="row">{p.payee?.name}</th>
                <td className="num">{formatMoney(p.earnings)}</td>
                <td className="num">{formatMoney(p.recouped)}</td>
                <td className="num">{formatMoney(p.payable)}</td>
                <td>{p.status === 'CARRIED_FORWARD' ? 'carried forward' : p.status.toLowerCase()}{p.belowMinimum ? ' (below minimum)' : ''}</td>
                <td>
                  <button className="link" onClick={() => download(p.statementCsvUrl, `statement-${p.payee?.name}-${run.periodEnd}.csv`)}>CSV</button>{' '}
                  <button className="link" onClick={() => download(p.statementPdfUrl, `statement-${p.payee?.name}-${run.periodEnd}.pdf`)}>PDF</button>
                </td>
                {run.status === 'APPROVED' && canWrite ? (
                  <td>
                    {p.status === 'PENDING' && Number(p.payable.amount) > 0 ? (
                      <input
                        aria-label={`Payment reference for ${p.payee?.name}`}
                        value={refs[p.payee?.id ?? ''] ?? ''}
                        onChange={(e) => setRefs({ ...refs, [p.payee?.id ?? '']: e.target.value })}
                      />
                    ) : (
                      p.paymentReference ?? ''
                    )}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {run.status === 'APPROVED' && canWrite ? <RailFiles run={run} /> : null}
      <FormErrors messages={errors.map((e) => e.message)} />
      {canWrite ? (
        <div className="actions">
          {run.status === 'READY' ? <button className="primary" onClick={() => approve({ input: { payoutRunId: run.id } })}>Approve run</button> : null}
          {['DRAFT', 'COMPUTING', 'READY', 'APPROVED'].includes(run.status) ? (
            <button onClick={() => cancel({ input: { payoutRunId: run.id } })}>Cancel run</button>
          ) : null}
          <button onClick={() => exportCsv(run)}>Export CSV</button>
          {run.status === 'APPROVED' ? (
            <button
              className="primary"
              disabled={payable.some((p) => !refs[p.payee?.id ?? '']?.trim())}
              onClick={() =>
                pay({ input: { payoutRunId: run.id, payments: payable.map((p) => ({ payeeId: p.payee!.id, paymentReference: refs[p.payee!.id].trim() })) } })
              }
            >
              Mark paid
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  );
}
