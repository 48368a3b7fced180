/** Which rows of a long table to render: only those near the viewport (fixed row height). */

/** The half-open range [start, end) of row indexes to render. */
export interface RowRange {
  start: number;
  end: number;
}

/**
 * Rows to render for `count` rows of `rowHeight` px when the viewport's top is
 * `offset` px below the first row's top (negative: the table starts lower down)
 * and the viewport is `viewport` px tall; `overscan` extra rows each side, so
 * Tab reaches the next row's controls before the window moves.
 */
export function rowRange(
  count: number,
  rowHeight: number,
  offset: number,
  viewport: number,
  overscan: number,
): RowRange {
  const clamp = (n: number) => Math.min(count, Math.max(0, n));
  const start = clamp(Math.floor(offset / rowHeight) - overscan);
  const end = clamp(Math.ceil((offset + viewport) / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}
