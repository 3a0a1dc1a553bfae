import { everything } from '../lib/client';
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import { useSession } from '../session';
import { uploadStatement } from '../lib/client';
import { FormErrors } from '../lib/errors';
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
      lines(first: 100, unmatchedOnly: true) { totalCount nodes { lineNumber isrc upc title artistName amount { amount currency } } }
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
const words = (s: string | null | undefined) =>
  new Set((s ?? '').toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').split(/[^a-z0-9]+/).filter((w) => w.length > 1));
/** How alike a line and a track look: shared title words, and the artist's name. */
function likeness(line: { title?: string | null; artistName?: string | null }, track: Track): number {
  const a = words(line.title);
  let score = 0;
  for (const w of words(track.title)) if (a.has(w)) score += 2;
  if (score && line.artistName && words(line.artistName).size && [...words(line.artistName)].every((w) => words(track.artist).has(w))) score += 1;
  return score;
}

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
  const groups = new Map<string, typeof s.lines.nodes>();
  for (const line of s.lines.nodes) {
    const key = line.isrc ?? line.upc ?? '';
    if (!key) continue;
    groups.set(key, [...(groups.get(key) ?? []), line]);
  }
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
      {groups.size ? (
        <>
          <h3>Unmatched, by identifier</h3>
          <ul className="unmatched">
            {[...groups.entries()].map(([identifier, lines]) => (
              <UnmatchedGroup key={identifier} statementId={s.id} identifier={identifier} lines={lines} tracks={tracks} canWrite={canWrite}
                onMatched={(count) => {
                  setNotice(`Matched ${count} line${count === 1 ? '' : 's'} of ${identifier}.`);
                  onChanged();
                }} />
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

function UnmatchedGroup({
  statementId, identifier, lines, tracks, canWrite, onMatched,
}: {
  statementId: string;
  identifier: string;
  lines: { title?: string | null; artistName?: string | null; amount: { amount: string; currency: string } }[];
  tracks: Track[];
  canWrite: boolean;
  onMatched: (count: number) => void;
}) {
  const sample = lines.find((l) => l.title) ?? lines[0];
  const title = sample?.title;
  // Tracks that look like the lines come first, suggested (see /work/portal-api-gaps.md: the API has no suggestions yet).
  const scored = tracks.map((t) => ({ t, score: likeness(sample ?? {}, t) }));
  const ranked = scored.sort((a, b) => b.score - a.score).map((x) => x.t);
  const suggested = scored.filter((x) => x.score > 0).map((x) => x.t);
  const [trackId, setTrackId] = useState(suggested[0]?.id ?? '');
  const [result, match] = useMutation(Match);
  const errors = result.data?.matchStatementLines.userErrors;
  const selectId = `match-${identifier}`;
  return (
    <li className="unmatched-group">
      <div>
        <strong>{identifier}</strong> · {title ?? 'untitled'} {lines[0]?.artistName ? `by ${lines[0].artistName}` : ''} · {lines.length} line{lines.length === 1 ? '' : 's'}
      </div>
      {canWrite ? (
        <div className="actions">
          <label htmlFor={selectId}>Track for {identifier}</label>
          <select id={selectId} value={trackId} onChange={(e) => setTrackId(e.target.value)}>
            <option value="">Choose a track…</option>
            {ranked.map((t) => (
              <option key={t.id} value={t.id}>
                {suggested.includes(t) ? '★ ' : ''}{t.title} — {t.release} ({t.artist})
              </option>
            ))}
          </select>
          <button
            className="primary"
            disabled={!trackId || result.fetching}
            onClick={async () => {
              const r = await match({ input: { statementId, identifier, trackId } });
              const payload = r.data?.matchStatementLines;
              if (payload && payload.userErrors.length === 0) onMatched(payload.matchedLineCount);
            }}
          >
            Match
          </button>
          <FormErrors messages={(errors ?? []).map((e) => e.message)} />
        </div>
      ) : null}
    </li>
  );
}
