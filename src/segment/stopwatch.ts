/** Per-step timings for a segmenter's diagnostics: `lap(name)` records the time since the previous lap (ms, 0.1 ms). */
export function stopwatch(): { timingsMs: Record<string, number>; lap: (name: string) => void } {
  const timingsMs: Record<string, number> = {};
  let t0 = performance.now();
  return {
    timingsMs,
    lap(name: string) {
      const t = performance.now();
      timingsMs[name] = Math.round((t - t0) * 10) / 10;
      t0 = t;
    },
  };
}
