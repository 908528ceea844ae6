/**
 * Smooth profiles along the spine: anatomy is tabulated at a few vertebral levels and interpolated
 * with a monotone-friendly cubic so that sizes change smoothly from slice to slice (no kinks a
 * level finder could latch onto).
 */

export type Profile = (u: number) => number;

/** Cubic Hermite through (knots[k], values[k]) with finite-difference slopes; constant beyond the ends. */
export function profile(knots: readonly number[], values: readonly number[]): Profile {
  if (knots.length !== values.length || knots.length < 2) throw new Error('profile: knots and values must pair up (≥ 2)');
  const n = knots.length;
  const slopes = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const lo = Math.max(0, k - 1);
    const hi = Math.min(n - 1, k + 1);
    slopes[k] = (values[hi] - values[lo]) / (knots[hi] - knots[lo]);
  }
  return (u: number): number => {
    if (u <= knots[0]) return values[0];
    if (u >= knots[n - 1]) return values[n - 1];
    let k = 0;
    while (u > knots[k + 1]) k++;
    const h = knots[k + 1] - knots[k];
    const t = (u - knots[k]) / h;
    const t2 = t * t;
    const t3 = t2 * t;
    return (
      (2 * t3 - 3 * t2 + 1) * values[k] +
      (t3 - 2 * t2 + t) * h * slopes[k] +
      (-2 * t3 + 3 * t2) * values[k + 1] +
      (t3 - t2) * h * slopes[k + 1]
    );
  };
}

export function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = clamp((x - edge0) / (edge1 - edge0), 0, 1);
  return t * t * (3 - 2 * t);
}

/**
 * Half-ellipsoid extent factor of an organ along the spine: 1 at `peak`, falling to 0 at `top`
 * (superior, smaller u) and `bottom` (inferior, larger u); 0 outside.
 */
export function extent(u: number, top: number, peak: number, bottom: number): number {
  if (u <= top || u >= bottom) return 0;
  const t = u < peak ? (peak - u) / (peak - top) : (u - peak) / (bottom - peak);
  return Math.sqrt(Math.max(0, 1 - t * t));
}
