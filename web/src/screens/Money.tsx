import { everything } from '../lib/client';
import { useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import type { PayoutRunStatus } from '../gql/graphql';
import { useSession } from '../session';
import { Field } from '../lib/Field';
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
      recoupables(first: 100) {
        nodes { id kind description incurredOn amount { amount currency } recouped { amount currency } remaining { amount currency } payee { name } release { title } }
      }
      payees(first: 100) {
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
              {o.payees.nodes.flatMap((p) =>
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
      </section>
      <section aria-labelledby="recoupables">
        <h2 id="recoupables">Advances and expenses</h2>
        {o.recoupables.nodes.length === 0 ? <p className="empty">None.</p> : null}
        <ul>
          {o.recoupables.nodes.map((r) => (
            <li key={r.id}>
              {r.kind === 'ADVANCE' ? 'Advance' : 'Expense'} to {r.payee?.name ?? '—'}: {r.description} — {formatMoney(r.amount)}, {formatMoney(r.recouped)} won back,{' '}
              {formatMoney(r.remaining)} to go
            </li>
          ))}
        </ul>
      </section>
    </>
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
