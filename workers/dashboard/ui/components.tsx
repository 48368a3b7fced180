/** Shared pieces: error banners, accessible tables, small buttons. */
import type { ComponentChildren } from "preact";
import { describeFailure } from "./api.ts";

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

/** A table with a caption and column headers; `rowKey` identifies rows across renders. */
export function DataTable<T>(props: {
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string;
  loaded: boolean;
  empty?: string;
}) {
  const { caption, columns, rows, rowKey, loaded } = props;
  return (
    <div class="table-wrap">
      <table>
        <caption>
          {caption} <span class="count">({loaded ? rows.length : "loading"})</span>
        </caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c.title}>
                {c.title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} data-key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.title}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
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
