import { everything } from '../lib/client';
import { useEffect, useId, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import { useSession } from '../session';
import { uploadStatement } from '../lib/client';
import { FieldError, FormErrors } from '../lib/errors';
import { formatMoney, formatNumber } from '../lib/money';

const StatementsQuery = graphql(`
  query Statements($org: ID!) {
    organization(id: $org) {
      id
      statements(first: 50) {
        nodes { id filename source status createdAt lineCount errorCount matchedCount unmatchedCount totals { amount { amount currency } } }
      }
      releases(first: 100) { nodes { id title artist { name } tracks { id title isrc } } }
    }
  }
`);
const StatementDetail = graphql(`
  query StatementDetail($id: ID!) {
    statement(id: $id) {
      id filename status progress lineCount errorCount matchedCount unmatchedCount allocationStatus failureReason warnings
      periodStart periodEnd
      totals { amount { amount currency } lineCount }
      errors(first: 50) { totalCount nodes { lineNumber reason raw } }
    }
  }
`);
const UnmatchedQueue = graphql(`
  query UnmatchedQueue($id: ID!, $after: String) {
    statement(id: $id) {
      id
      unmatchedIdentifiers(first: 50, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes {
          kind identifier isrc upc title artistName lineCount revenue { amount currency }
          suggestions { score reason track { id title release { title artist { name } } } }
        }
      }
    }
  }
`);
const Progress = graphql(`
  subscription StatementProgress($id: ID!) {
    statementProgress(statementId: $id) { statementId status bytesProcessed sizeBytes lineCount errorCount }
  }
`);
const Match = graphql(`
  mutation MatchStatementLines($input: MatchStatementLinesInput!) {
    matchStatementLines(input: $input) { matchedLineCount statement { id matchedCount unmatchedCount } userErrors { field message code } }
  }
`);

type Track = { id: string; title: string; isrc?: string | null; release: string; artist: string };

export default function Statements() {
  const { org, canWrite } = useSession();
  const [{ data }, refetch] = useQuery({ query: StatementsQuery, variables: { org: org.id }, context: everything });
  const [selected, setSelected] = useState<string | null>(null);
  const o = data?.organization;
  const tracks: Track[] = (o?.releases.nodes ?? []).flatMap((r) => r.tracks.map((t) => ({ ...t, release: r.title, artist: r.artist?.name ?? '' })));
  return (
    <>
      <h1>Statements</h1>
      {canWrite ? (
        <Upload
          onUploaded={(id) => {
            setSelected(id);
            refetch({ requestPolicy: 'network-only' });
          }}
        />
      ) : null}
      <section aria-labelledby="all-statements">
        <h2 id="all-statements">Uploaded statements</h2>
        {o?.statements.nodes.length === 0 ? <p className="empty">No statements yet.</p> : null}
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Lines</th>
                <th scope="col" className="num">Unmatched</th>
                <th scope="col" className="num">Total</th>
              </tr>
            </thead>
            <tbody>
              {o?.statements.nodes.map((s) => (
                <tr key={s.id}>
                  <td>
                    <button className="link" onClick={() => setSelected(s.id)} aria-pressed={selected === s.id}>
                      {s.filename}
                    </button>
                  </td>
                  <td>{s.status.toLowerCase()}</td>
                  <td className="num">{formatNumber(s.lineCount)}</td>
                  <td className="num">{formatNumber(s.unmatchedCount)}</td>
                  <td className="num">{s.totals.map((t) => formatMoney(t.amount)).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {selected ? <Detail id={selected} tracks={tracks} canWrite={canWrite} onChanged={() => refetch({ requestPolicy: 'network-only' })} /> : null}
    </>
  );
}

function Upload({ onUploaded }: { onUploaded: (id: string) => void }) {
  const { org } = useSession();
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [messages, setMessages] = useState<string[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const send = async (files: FileList | null) => {
    if (!files?.length) return;
    setBusy(true);
    setMessages([]);
    try {
      for (const file of Array.from(files)) {
        const r = await uploadStatement(org.id, file);
        if (r.userErrors.length) setMessages(r.userErrors.map((e) => `${file.name}: ${e.message}`));
        if (r.duplicate) setMessages((m) => [...m, `${file.name} was uploaded before.`]);
        if (r.statement) onUploaded(r.statement.id);
      }
    } catch (e) {
      setMessages([(e as Error).message]);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section
      className={`dropzone${over ? ' over' : ''}`}
      aria-labelledby="upload-title"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        send(e.dataTransfer.files);
      }}
    >
      <h2 id="upload-title">Upload a statement</h2>
      <p>Drop a distributor or store report here (DistroKid, CD Baby, TuneCore, Bandcamp, Apple, DDEX…), or</p>
      <label className="button">
        Choose files
        <input ref={input} type="file" className="sr-only" multiple onChange={(e) => send(e.target.files)} disabled={busy} />
      </label>
      {busy ? <p role="status">Uploading…</p> : null}
      <FormErrors messages={messages} />
    </section>
  );
}

function Detail({ id, tracks, canWrite, onChanged }: { id: string; tracks: Track[]; canWrite: boolean; onChanged: () => void }) {
  const [{ data }, refetch] = useQuery({ query: StatementDetail, variables: { id }, context: everything });
  const [notice, setNotice] = useState('');
  const s = data?.statement;
  const done = s && (s.status === 'PARSED' || s.status === 'FAILED');
  // The first event is the statement's state now, then one per step until it is parsed.
  const [live] = useSubscription({ query: Progress, variables: { id } });
  const p = live.data?.statementProgress;
  useEffect(() => {
    if (p && (p.status === 'PARSED' || p.status === 'FAILED')) {
      refetch({ requestPolicy: 'network-only' });
      onChanged();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [p?.status]);
  // A statement whose subscription ended before it was parsed: read it again now and then.
  useEffect(() => {
    if (done) return;
    const t = setInterval(() => refetch({ requestPolicy: 'network-only' }), 3000);
    return () => clearInterval(t);
  }, [done, refetch]);
  if (!s) return <p className="loading">Loading…</p>;
  const status = done ? s.status : (p?.status ?? s.status);
  const percent = done ? 100 : p && p.sizeBytes ? Math.round((100 * p.bytesProcessed) / p.sizeBytes) : Math.round(s.progress * 100);
  return (
    <section className="card" aria-labelledby="detail-title">
      <h2 id="detail-title">{s.filename}</h2>
      <div className="progress-row">
        <span data-testid="statement-status">{status === 'PARSED' ? 'Parsed' : status === 'FAILED' ? 'Failed' : status === 'PARSING' ? 'Parsing' : 'Waiting to be parsed'}</span>
        <progress max={100} value={percent} aria-label="Parsing progress">{percent} %</progress>
        <span aria-live="polite">{formatNumber(p?.lineCount ?? s.lineCount)} lines · {formatNumber(p?.errorCount ?? s.errorCount)} errors</span>
      </div>
      {s.failureReason ? <p className="field-error">{s.failureReason}</p> : null}
      {done ? (
        <dl className="facts">
          <dt>Period</dt>
          <dd>{s.periodStart ?? '?'} to {s.periodEnd ?? '?'}</dd>
          <dt>Matched</dt>
          <dd>{formatNumber(s.matchedCount)} lines</dd>
          <dt>Unmatched</dt>
          <dd data-testid="unmatched-count">{formatNumber(s.unmatchedCount)} lines</dd>
          <dt>Total</dt>
          <dd>{s.totals.map((t) => formatMoney(t.amount)).join(', ')}</dd>
        </dl>
      ) : null}
      {s.errors.totalCount ? (
        <>
          <h3>Lines that could not be read ({s.errors.totalCount})</h3>
          <ul className="errors">
            {s.errors.nodes.map((e) => (
              <li key={e.lineNumber}>Line {e.lineNumber}: {e.reason}</li>
            ))}
          </ul>
        </>
      ) : null}
      {notice ? <p role="status" className="ok">{notice}</p> : null}
      {done && s.unmatchedCount > 0 ? (
        <UnmatchedPages statementId={s.id} tracks={tracks} canWrite={canWrite}
          onMatched={(count, identifier) => {
            setNotice(`Matched ${count} line${count === 1 ? '' : 's'} of ${identifier}.`);
            refetch({ requestPolicy: 'network-only' });
            onChanged();
          }} />
      ) : null}
    </section>
  );
}

/** The unmatched queue: the server groups the lines and suggests tracks; pages load on demand. */
function UnmatchedPages({ statementId, tracks, canWrite, onMatched }: {
  statementId: string; tracks: Track[]; canWrite: boolean; onMatched: (count: number, identifier: string) => void;
}) {
  // One entry per page loaded: the cursor it starts after. A match reloads from the first page,
  // as the groups after a matched one move up.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [generation, setGeneration] = useState(0);
  return (
    <>
      <h3 id="unmatched-title">Unmatched, by identifier</h3>
      <ul className="unmatched" aria-labelledby="unmatched-title">
        {cursors.map((after, i) => (
          <UnmatchedPage key={`${generation}-${after ?? 'first'}`} statementId={statementId} after={after} tracks={tracks} canWrite={canWrite}
            last={i === cursors.length - 1}
            onMore={(cursor) => setCursors((c) => [...c, cursor])}
            onMatched={(count, identifier) => {
              setCursors([null]);
              setGeneration((g) => g + 1);
              onMatched(count, identifier);
            }} />
        ))}
      </ul>
    </>
  );
}

function UnmatchedPage({ statementId, after, tracks, canWrite, last, onMore, onMatched }: {
  statementId: string; after: string | null; tracks: Track[]; canWrite: boolean; last: boolean;
  onMore: (cursor: string) => void; onMatched: (count: number, identifier: string) => void;
}) {
  const [{ data, fetching, error }] = useQuery({ query: UnmatchedQueue, variables: { id: statementId, after }, requestPolicy: 'network-only' });
  const page = data?.statement.unmatchedIdentifiers;
  if (error) return <li className="field-error" role="alert">{error.message}</li>;
  if (!page) return fetching ? <li className="loading">Loading…</li> : null;
  return (
    <>
      {page.nodes.map((g) => (
        <UnmatchedGroup key={`${g.kind}-${g.identifier ?? ''}-${g.title ?? ''}-${g.artistName ?? ''}-${g.revenue.currency}`}
          statementId={statementId} group={g} tracks={tracks} canWrite={canWrite} onMatched={onMatched} />
      ))}
      {last && page.pageInfo.hasNextPage && page.pageInfo.endCursor ? (
        <li className="more">
          <button onClick={() => onMore(page.pageInfo.endCursor!)}>
            Load more ({formatNumber(page.totalCount)} identifiers in all)
          </button>
        </li>
      ) : null}
    </>
  );
}

type Group = {
  kind: 'ISRC' | 'UPC' | 'TITLE_ARTIST';
  identifier?: string | null; title?: string | null; artistName?: string | null; lineCount: number;
  revenue: { amount: string; currency: string };
  suggestions: { score: number; reason: string; track: { id: string; title: string; release?: { title: string; artist?: { name: string } | null } | null } }[];
};

const REASONS: Record<string, string> = { ISRC_EXACT: 'same ISRC', ISRC_ONE_TYPO: 'ISRC one typo away', TITLE_ARTIST: 'title and artist alike' };

function UnmatchedGroup({ statementId, group, tracks, canWrite, onMatched }: {
  statementId: string; group: Group; tracks: Track[]; canWrite: boolean; onMatched: (count: number, identifier: string) => void;
}) {
  const suggested = group.suggestions.map((s) => ({
    id: s.track.id, title: s.track.title, release: s.track.release?.title ?? '', artist: s.track.release?.artist?.name ?? '', why: REASONS[s.reason] ?? '',
  }));
  const others = tracks.filter((t) => !suggested.some((s) => s.id === t.id));
  const [trackId, setTrackId] = useState(suggested[0]?.id ?? '');
  const [result, match] = useMutation(Match);
  const errors = result.data?.matchStatementLines.userErrors;
  const identifier = group.identifier;
  const label = identifier ?? `${group.title ?? 'untitled'}${group.artistName ? ` by ${group.artistName}` : ''}`;
  const selectId = useId();
  const errorId = `${selectId}-error`;
  return (
    <li className="unmatched-group">
      <div>
        <strong>{label}</strong>
        {identifier ? <> · {group.title ?? 'untitled'} {group.artistName ? `by ${group.artistName}` : ''}</> : null}
        {' '}· {group.lineCount} line{group.lineCount === 1 ? '' : 's'} · <span data-testid="group-revenue">{formatMoney(group.revenue)}</span>
      </div>
      {canWrite && identifier ? (
        <div className="actions">
          <label htmlFor={selectId}>Track for {identifier}</label>
          <select id={selectId} value={trackId} onChange={(e) => setTrackId(e.target.value)}
            aria-invalid={errors?.length ? true : undefined} aria-describedby={errors?.length ? errorId : undefined}>
            <option value="">Choose a track…</option>
            {suggested.length ? (
              <optgroup label="Suggested">
                {suggested.map((t) => (
                  <option key={t.id} value={t.id}>★ {t.title} — {t.release} ({t.artist}), {t.why}</option>
                ))}
              </optgroup>
            ) : null}
            <optgroup label="All tracks">
              {others.map((t) => (
                <option key={t.id} value={t.id}>{t.title} — {t.release} ({t.artist})</option>
              ))}
            </optgroup>
          </select>
          <button
            className="primary"
            disabled={!trackId || result.fetching}
            onClick={async () => {
              const r = await match({ input: { statementId, identifier, trackId } });
              const payload = r.data?.matchStatementLines;
              if (payload && payload.userErrors.length === 0) onMatched(payload.matchedLineCount, identifier);
            }}
          >
            Match
          </button>
          <FieldError id={errorId} messages={(errors ?? []).map((e) => e.message)} />
        </div>
      ) : null}
      {canWrite && !identifier ? (
        <p className="hint">These lines carry no ISRC or UPC: give the track its ISRC in the catalogue, or ask the distributor for one.</p>
      ) : null}
    </li>
  );
}
