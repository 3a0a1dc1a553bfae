import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Earnings by month as bars (uPlot); the same numbers are in the table beside it for screen readers. */
export function MonthChart({ months, values, label, format }: { months: string[]; values: number[]; label: string; format: (v: number) => string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current || months.length === 0) return;
    const xs = months.map((m) => Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)) - 1, 1) / 1000);
    const width = Math.max(280, box.current.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: 220,
        legend: { show: false },
        cursor: { show: true, points: { show: false } },
        // The x range and ticks are the months given, whatever their number: one month is one
        // bar with its own label, not a day-by-day axis around it.
        scales: { x: { time: true, range: () => [xs[0] - 20 * 86400, xs[xs.length - 1] + 20 * 86400] }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [{ stroke: '#3d4451', splits: () => xs, values: (_u, ticks) => ticks.map((t, i) => monthTick(t, xs.length, i === 0)) }, { stroke: '#3d4451', size: 70, values: (_u, ticks) => ticks.map(format) }],
        series: [
          {},
          { label, stroke: '#1f5fa8', fill: 'rgba(31,95,168,0.25)', width: 1, paths: uPlot.paths.bars!({ size: [0.7, 40] }), points: { show: false } },
        ],
      },
      [xs, values],
      box.current,
    );
    const onResize = () => plot.setSize({ width: Math.max(280, box.current?.clientWidth ?? width), height: 220 });
    addEventListener('resize', onResize);
    return () => {
      removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [months, values, label, format]);
  return <div ref={box} className="chart" role="img" aria-label={`${label} by month`} />;
}

/** A month's tick: "Jan 2025" when there are few; when many, "Feb" with the year only on the
 * first and on each January. */
function monthTick(seconds: number, count: number, first: boolean): string {
  const d = new Date(seconds * 1000);
  const many = count > 6 && d.getUTCMonth() !== 0 && !first;
  return new Intl.DateTimeFormat(undefined, many ? { month: 'short', timeZone: 'UTC' } : { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(d);
}

/** A ranked list with proportional bars: easier to read than a pie. */
export function Bars({ rows, caption }: { rows: { label: string; value: number; text: string }[]; caption: string }) {
  const max = Math.max(...rows.map((r) => r.value), 0);
  return (
    <table className="bars">
      <caption>{caption}</caption>
      <tbody>
        {rows.map((r) => (
          <tr key={r.label}>
            <th scope="row">{r.label}</th>
            <td className="bar-cell">
              <span className="bar" style={{ width: `${max > 0 ? Math.max(2, (100 * r.value) / max) : 0}%` }} aria-hidden="true" />
            </td>
            <td className="num">{r.text}</td>
          </tr>
        ))}
        {rows.length === 0 ? (
          <tr>
            <td colSpan={3} className="empty">No data for this period.</td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}
