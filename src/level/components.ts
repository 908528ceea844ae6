/** Connected-component labelling on flat masks (2D per slice, and 3D over a slab), iterative so large masks cannot overflow the stack. */

export interface Components {
  /** 0 = background, 1..count = component. */
  labels: Int32Array;
  count: number;
  /** sizes[label] = pixel count (index 0 unused). */
  sizes: number[];
}

/** 8-connected 2D components of mask (width × height). */
export function label2d(mask: Uint8Array, width: number, height: number): Components {
  const labels = new Int32Array(mask.length);
  const sizes = [0];
  const stack = new Int32Array(mask.length);
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    count++;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    labels[start] = count;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] && !labels[q]) {
            labels[q] = count;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, count, sizes };
}

/**
 * 3D components of mask (width × height × depth, slice-major): 4-connected within a slice and
 * 3×3-connected to the slices above and below, so a rib running obliquely through thick slices,
 * whose cross-sections shift sideways from one slice to the next, stays one piece.
 */
export function label3d(mask: Uint8Array, width: number, height: number, depth: number): Components {
  const labels = new Int32Array(mask.length);
  const sizes = [0];
  const stack = new Int32Array(mask.length);
  const plane = width * height;
  let count = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    count++;
    let top = 0;
    let size = 0;
    stack[top++] = start;
    labels[start] = count;
    while (top > 0) {
      const p = stack[--top];
      size++;
      const z = Math.floor(p / plane);
      const inPlane = p - z * plane;
      const x = inPlane % width;
      const y = (inPlane - x) / width;
      for (let dz = -1; dz <= 1; dz++) {
        const zz = z + dz;
        if (zz < 0 || zz >= depth) continue;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= height) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= width) continue;
            if (dz === 0 && dx !== 0 && dy !== 0) continue;
            const q = zz * plane + yy * width + xx;
            if (mask[q] && !labels[q]) {
              labels[q] = count;
              stack[top++] = q;
            }
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, count, sizes };
}

/** The largest component as a 0/1 mask (all zero when the mask is empty). */
export function largestComponent(mask: Uint8Array, width: number, height: number): Uint8Array {
  const { labels, count, sizes } = label2d(mask, width, height);
  const out = new Uint8Array(mask.length);
  if (count === 0) return out;
  let best = 1;
  for (let l = 2; l <= count; l++) if (sizes[l] > sizes[best]) best = l;
  for (let p = 0; p < labels.length; p++) if (labels[p] === best) out[p] = 1;
  return out;
}
