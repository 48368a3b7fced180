/** Shared pieces: error banners, accessible tables, small buttons. */
import type { ComponentChildren } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { describeFailure } from "./api.ts";
import { rowRange } from "./window.ts";

/** A failure as an alert (screen readers announce it). */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {describeFailure(error)}
    </p>
  );
}

/** One column of a DataTable. */
export interface Column<T> {
  title: string;
  cell(row: T): ComponentChildren;
}

/** Tables longer than this render only the rows near the viewport. */
const WINDOW_FROM = 100;
/** Rows rendered beyond each edge of the viewport. */
const OVERSCAN = 10;
/** A windowed row's height in px until one is measured (style.css fixes it: one line per row). */
const ROW_PX = 37;

/**
 * A table with a caption and column headers; `rowKey` identifies rows across renders.
 * A long table renders only the rows near the viewport (between two spacer rows that
 * keep the scroll height): 1,000 pods are ~40 rows in the DOM, not ~24,000 nodes, and a
 * watch event re-renders those. aria-rowcount/aria-rowindex tell assistive technology the
 * whole size; Tab moves into the next row, whose focus scrolls the window along.
 */
export function DataTable<T>(props: {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string;
  loaded: boolean;
  empty?: string;
}) {
  const { caption, columns, rows, rowKey, loaded } = props;
  const windowed = rows.length > WINDOW_FROM;
  const body = useRef<HTMLTableSectionElement>(null);
  const rowHeight = useRef(ROW_PX);
  // The viewport relative to the body, measured at most once a frame on any scroll (capture:
  // the scrolling element may be the page or a container) or resize.
  const [view, setView] = useState({ offset: 0, viewport: globalThis.innerHeight ?? 800 });
  useLayoutEffect(() => {
    if (!windowed) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const el = body.current;
      if (!el) return;
      const row = el.querySelector<HTMLElement>("tr[aria-rowindex]");
      if (row?.offsetHeight) rowHeight.current = row.offsetHeight;
      const offset = -el.getBoundingClientRect().top;
      const viewport = innerHeight;
      // Re-render only when the rendered range would change.
      setView((v) =>
        Math.floor(v.offset / rowHeight.current) === Math.floor(offset / rowHeight.current) &&
        v.viewport === viewport
          ? v
          : { offset, viewport },
      );
    };
    const later = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    document.addEventListener("scroll", later, { capture: true, passive: true });
    addEventListener("resize", later);
    return () => {
      document.removeEventListener("scroll", later, { capture: true });
      removeEventListener("resize", later);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [windowed, rows.length]);
  const { start, end } = windowed
    ? rowRange(rows.length, rowHeight.current, view.offset, view.viewport, OVERSCAN)
    : { start: 0, end: rows.length };
  const spacer = (count: number) =>
    count > 0 && (
      // biome-ignore lint/a11y/noAriaHiddenOnFocusable: a spacer row holds nothing to focus; hidden, it is not counted as a row.
      <tr aria-hidden="true" class="spacer">
        <td colSpan={columns.length} style={{ height: `${count * rowHeight.current}px` }} />
      </tr>
    );
  return (
    <div class="table-wrap">
      <table
        class={windowed ? "windowed" : undefined}
        aria-rowcount={rows.length ? rows.length + 1 : undefined}
      >
        <caption>
          {caption} <span class="count">({loaded ? rows.length : "loading"})</span>
        </caption>
        <thead>
          <tr aria-rowindex={1}>
            {columns.map((c) => (
              <th scope="col" key={c.title}>
                {c.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody ref={body}>
          {spacer(start)}
          {rows.slice(start, end).map((row, i) => (
            <tr key={rowKey(row)} data-key={rowKey(row)} aria-rowindex={start + i + 2}>
              {columns.map((c) => (
                <td key={c.title}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
          {spacer(rows.length - end)}
          {loaded && rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} class="muted">
                {props.empty ?? "None."}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A page heading plus its toolbar. */
export function Page(props: { title: string; children: ComponentChildren; tools?: ComponentChildren }) {
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title">{props.title}</h1>
        {props.tools}
      </div>
      {props.children}
    </section>
  );
}
