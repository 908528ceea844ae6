/** Order statistics of plain number lists (slice spacings, vertebral heights, benchmark runs). */

/** The median; of an even count, the mean of the two middle values. The input is not reordered. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
