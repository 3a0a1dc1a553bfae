import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import { checkSplit, shareOf, type ShareRow } from '../lib/splits';
import { errorsFor, FormErrors, otherErrors } from '../lib/errors';
import { formatMoney } from '../lib/money';
import { useSession } from '../session';

const SetSplit = graphql(`
  mutation SetSplit($input: SetSplitInput!) {
    setSplit(input: $input) { split { id effectiveFrom } userErrors { field message code } }
  }
`);

type Props = {
  release: { id: string; title: string; currentSplit?: { effectiveFrom: string; consent: { confirmed: number; pending: number }; shares: { payee?: { id: string } | null; payeeName: string; share: string; confirmed: boolean }[] } | null };
  payees: { id: string; name: string }[];
  canWrite: boolean;
};

/** Shares of a release in percent, with the live sum and what each payee would get of 100.00. */
export function SplitEditor({ release, payees, canWrite }: Props) {
  const { org } = useSession();
  const initial: ShareRow[] = release.currentSplit?.shares.map((s) => ({ payeeId: s.payee?.id ?? '', share: s.share })) ?? [{ payeeId: '', share: '100' }];
  const [rows, setRows] = useState<ShareRow[]>(initial);
  const [from, setFrom] = useState(release.currentSplit?.effectiveFrom ?? '2024-01-01');
  const [result, save] = useMutation(SetSplit);
  const errors = result.data?.setSplit.userErrors;
  const check = checkSplit(rows);
  const set = (i: number, patch: Partial<ShareRow>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const id = `split-${release.id}`;
  if (!canWrite) {
    return (
      <div className="split">
        <h3>Split</h3>
        <ul>{release.currentSplit?.shares.map((s) => <li key={s.payeeName}>{s.payeeName}: {Number(s.share)} %</li>) ?? <li>No split yet.</li>}</ul>
      </div>
    );
  }
  return (
    <form
      className="split"
      aria-labelledby={id}
      onSubmit={(e) => {
        e.preventDefault();
        save({ input: { releaseId: release.id, effectiveFrom: from, shares: rows.map((r) => ({ payeeId: r.payeeId, share: r.share })) } });
      }}
    >
      <h3 id={id}>Split of {release.title}</h3>
      <FormErrors messages={otherErrors(errors, ['effectiveFrom'])} />
      <table className="split-table">
        <thead>
          <tr>
            <th scope="col">Payee</th>
            <th scope="col">Share (%)</th>
            <th scope="col">Of {formatMoney({ amount: '100', currency: org.baseCurrency })}</th>
            <th scope="col"><span className="sr-only">Remove</span></th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              <td>
                <select aria-label={`Payee ${i + 1}`} value={row.payeeId} onChange={(e) => set(i, { payeeId: e.target.value })}>
                  <option value="">Choose…</option>
                  {payees.map((p) => (
                    <option key={p.id} value={p.id}>{p.name}</option>
                  ))}
                </select>
                {check.rowErrors[i] ? <p className="field-error">{check.rowErrors[i]}</p> : null}
              </td>
              <td>
                <input aria-label={`Share of payee ${i + 1} in percent`} inputMode="decimal" value={row.share} onChange={(e) => set(i, { share: e.target.value })} size={7} />
              </td>
              <td className="num">{shareOf(row.share) !== null ? formatMoney({ amount: shareOf(row.share)!, currency: org.baseCurrency }) : '—'}</td>
              <td>
                <button type="button" className="link" aria-label={`Remove payee ${i + 1}`} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            <td className={check.complete ? 'ok' : 'warn'} aria-live="polite" data-testid="split-total">
              {check.total} %
            </td>
            <td colSpan={2}>{check.complete ? 'Adds up to 100 %' : `${check.remaining} % ${check.remaining.startsWith('-') ? 'too much' : 'left to assign'}`}</td>
          </tr>
        </tfoot>
      </table>
      <div className="actions">
        <button type="button" onClick={() => setRows([...rows, { payeeId: '', share: '' }])}>Add payee</button>
        <label className="inline">
          Effective from <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <button className="primary" type="submit" disabled={!check.complete}>Save split</button>
      </div>
      <FormErrors messages={[...errorsFor(errors, 'effectiveFrom')]} />
      {result.data?.setSplit.split ? <p className="ok" role="status">Split saved.</p> : null}
      {release.currentSplit ? (
        <p className={release.currentSplit.consent.pending ? 'warn' : 'muted'} data-testid="split-consent">
          {release.currentSplit.consent.pending
            ? `Waiting for ${release.currentSplit.shares.filter((s) => !s.confirmed).map((s) => s.payeeName).join(', ')} to confirm.`
            : 'Every payee has confirmed.'}
        </p>
      ) : null}
    </form>
  );
}
