// "Load more" for lists that stop at a page (100 at most): the next pages are asked for by the
// connection's cursor and added after the first one, which the screen's own query brings.
import { useEffect, useId, useState } from 'react';
import { formatNumber } from './money';

export type PageOf<N> = { totalCount?: number; pageInfo: { hasNextPage: boolean; endCursor?: string | null }; nodes: N[] };

/** The first page's nodes followed by those loaded since; `more` is null when there are no more. */
export function useLoadMore<N>(first: PageOf<N> | undefined, load: (after: string) => Promise<PageOf<N> | undefined>) {
  const [extra, setExtra] = useState<{ nodes: N[]; pageInfo: PageOf<N>['pageInfo'] } | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  // A new first page (the screen read it again) starts the list over.
  useEffect(() => setExtra(null), [first]);
  const info = extra?.pageInfo ?? first?.pageInfo;
  const nodes = [...(first?.nodes ?? []), ...(extra?.nodes ?? [])];
  const more =
    info?.hasNextPage && info.endCursor
      ? async () => {
          setLoading(true);
          setError('');
          try {
            const page = await load(info.endCursor!);
            if (page) setExtra((e) => ({ nodes: [...(e?.nodes ?? []), ...page.nodes], pageInfo: page.pageInfo }));
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setLoading(false);
          }
        }
      : null;
  return { nodes, more, loading, error, totalCount: first?.totalCount };
}

export function LoadMore({ more, loading, error, shown, totalCount, what }: {
  more: (() => void) | null; loading: boolean; error: string; shown: number; totalCount?: number; what: string;
}) {
  const errorId = useId();
  if (!more && !error) return null;
  return (
    <div className="load-more">
      {more ? (
        <button type="button" onClick={more} disabled={loading} aria-describedby={error ? errorId : undefined}>
          {loading ? 'Loading…' : `Load more ${what}`}{totalCount !== undefined ? ` (${formatNumber(shown)} of ${formatNumber(totalCount)} shown)` : ''}
        </button>
      ) : null}
      {error ? <p className="field-error" id={errorId} role="alert">{error}</p> : null}
    </div>
  );
}
