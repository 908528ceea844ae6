/**
 * Painting analytic shapes onto a label image. The grid maps column c to patient x and row r to
 * patient y (both axis-aligned, either direction), so the same painters serve every patient
 * position and a 1×1 grid answers "which tissue is at this point". Shapes are filled row by row
 * over their bounding box only; nothing allocates per pixel.
 */

export interface Grid {
  /** Columns and rows. */
  nx: number;
  ny: number;
  /** Patient x (mm) of column c is x0 + c·dx; dx may be negative. */
  x0: number;
  dx: number;
  /** Patient y (mm) of row r is y0 + r·dy; dy may be negative. */
  y0: number;
  dy: number;
}

/** An ellipse whose anterior (y < cy) and posterior (y ≥ cy) halves have different half-depths. */
export interface Egg {
  cx: number;
  cy: number;
  rx: number;
  ryAnt: number;
  ryPost: number;
}

/** Indices i in [0, n) whose coordinate o + i·d lies in [lo, hi]; returns [first, last] (empty when first > last). */
export function indexRange(o: number, d: number, n: number, lo: number, hi: number): [number, number] {
  let a: number;
  let b: number;
  if (d > 0) {
    a = Math.ceil((lo - o) / d - 1e-9);
    b = Math.floor((hi - o) / d + 1e-9);
  } else {
    a = Math.ceil((hi - o) / d - 1e-9);
    b = Math.floor((lo - o) / d + 1e-9);
  }
  return [a < 0 ? 0 : a, b > n - 1 ? n - 1 : b];
}

export function pointGrid(x: number, y: number): Grid {
  return { nx: 1, ny: 1, x0: x, dx: 1, y0: y, dy: 1 };
}

export function eggContains(e: Egg, x: number, y: number): boolean {
  const dx = (x - e.cx) / e.rx;
  const dyRaw = y - e.cy;
  const dy = dyRaw / (dyRaw < 0 ? e.ryAnt : e.ryPost);
  return dx * dx + dy * dy <= 1;
}

/** Shrink (or grow, d < 0) an egg by d mm on every side. */
export function insetEgg(e: Egg, d: number): Egg {
  return { cx: e.cx, cy: e.cy, rx: e.rx - d, ryAnt: e.ryAnt - d, ryPost: e.ryPost - d };
}

/** Point on an egg at angle θ measured from posterior midline (θ = 0) through the side `side` (+1 left, −1 right). */
export function eggPoint(e: Egg, theta: number, side: number): [number, number] {
  const c = Math.cos(theta);
  return [e.cx + side * e.rx * Math.sin(theta), e.cy + c * (c >= 0 ? e.ryPost : e.ryAnt)];
}

export interface PaintOptions {
  /** Paint only over pixels whose current label has a non-zero entry here. */
  only?: Uint8Array;
  /** Keep only y within [yMin, yMax]. */
  yMin?: number;
  yMax?: number;
  /** Keep only pixels where this returns true (for surfaces such as the diaphragm). */
  where?: (x: number, y: number) => boolean;
}

export function fillEgg(grid: Grid, labels: Uint8Array, e: Egg, label: number, options: PaintOptions = {}): void {
  if (!(e.rx > 0 && e.ryAnt > 0 && e.ryPost > 0)) return;
  const { only, where } = options;
  const yLo = Math.max(e.cy - e.ryAnt, options.yMin ?? -Infinity);
  const yHi = Math.min(e.cy + e.ryPost, options.yMax ?? Infinity);
  if (yLo > yHi) return;
  const [r0, r1] = indexRange(grid.y0, grid.dy, grid.ny, yLo, yHi);
  for (let r = r0; r <= r1; r++) {
    const y = grid.y0 + r * grid.dy;
    const dyRaw = y - e.cy;
    const q = dyRaw / (dyRaw < 0 ? e.ryAnt : e.ryPost);
    const t = 1 - q * q;
    if (t < 0) continue;
    const half = e.rx * Math.sqrt(t);
    const [c0, c1] = indexRange(grid.x0, grid.dx, grid.nx, e.cx - half, e.cx + half);
    const base = r * grid.nx;
    for (let c = c0; c <= c1; c++) {
      const i = base + c;
      if (only && only[labels[i]] === 0) continue;
      if (where && !where(grid.x0 + c * grid.dx, y)) continue;
      labels[i] = label;
    }
  }
}

export function fillEllipse(grid: Grid, labels: Uint8Array, cx: number, cy: number, rx: number, ry: number, label: number, options?: PaintOptions): void {
  fillEgg(grid, labels, { cx, cy, rx, ryAnt: ry, ryPost: ry }, label, options);
}

/** Points within distance r of the segment A–B. */
export function fillCapsule(
  grid: Grid,
  labels: Uint8Array,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  r: number,
  label: number,
  options: PaintOptions = {},
): void {
  if (!(r > 0)) return;
  const { only } = options;
  const yLo = Math.max(Math.min(ay, by) - r, options.yMin ?? -Infinity);
  const yHi = Math.min(Math.max(ay, by) + r, options.yMax ?? Infinity);
  if (yLo > yHi) return;
  const [r0, r1] = indexRange(grid.y0, grid.dy, grid.ny, yLo, yHi);
  const [c0, c1] = indexRange(grid.x0, grid.dx, grid.nx, Math.min(ax, bx) - r, Math.max(ax, bx) + r);
  if (c0 > c1) return;
  const vx = bx - ax;
  const vy = by - ay;
  const vv = vx * vx + vy * vy;
  const r2 = r * r;
  for (let row = r0; row <= r1; row++) {
    const y = grid.y0 + row * grid.dy;
    const base = row * grid.nx;
    for (let c = c0; c <= c1; c++) {
      const x = grid.x0 + c * grid.dx;
      let t = vv > 0 ? ((x - ax) * vx + (y - ay) * vy) / vv : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = x - (ax + t * vx);
      const ey = y - (ay + t * vy);
      if (ex * ex + ey * ey > r2) continue;
      const i = base + c;
      if (only && only[labels[i]] === 0) continue;
      labels[i] = label;
    }
  }
}

export function fillCircle(grid: Grid, labels: Uint8Array, cx: number, cy: number, r: number, label: number, options?: PaintOptions): void {
  fillCapsule(grid, labels, cx, cy, cx, cy, r, label, options);
}
