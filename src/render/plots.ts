/**
 * Small scatter plots as PNG (drawn with @napi-rs/canvas): validate's Bland–Altman plot and
 * area scatter. Axes with round ticks, optional horizontal lines (bias, limits of agreement)
 * and the identity line.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  points: Array<{ x: number; y: number }>;
  hLines?: Array<{ y: number; label: string; dashed?: boolean }>;
  /** Draw y = x and use the same range on both axes. */
  identity?: boolean;
  width?: number;
  height?: number;
}

const MARGIN = { left: 70, right: 120, top: 40, bottom: 55 };

/** Round tick step giving about 6 ticks over the span. */
function tickStep(span: number): number {
  const raw = span / 6 || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
}

function range(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  xr: [number, number];
  yr: [number, number];
  width: number;
  height: number;
}

function drawAxes(ctx: SKRSContext2D, frame: Frame, spec: PlotSpec): void {
  const { xr, yr, width, height } = frame;
  ctx.strokeStyle = '#333';
  ctx.fillStyle = '#222';
  ctx.font = '12px sans-serif';
  ctx.strokeRect(MARGIN.left, MARGIN.top, width - MARGIN.left - MARGIN.right, height - MARGIN.top - MARGIN.bottom);
  const xs = tickStep(xr[1] - xr[0]);
  ctx.textAlign = 'center';
  for (let v = Math.ceil(xr[0] / xs) * xs; v <= xr[1]; v += xs) ctx.fillText(String(Number(v.toPrecision(6))), frame.x(v), height - MARGIN.bottom + 16);
  const ys = tickStep(yr[1] - yr[0]);
  ctx.textAlign = 'right';
  for (let v = Math.ceil(yr[0] / ys) * ys; v <= yr[1]; v += ys) ctx.fillText(String(Number(v.toPrecision(6))), MARGIN.left - 6, frame.y(v) + 4);
  ctx.textAlign = 'center';
  ctx.font = '14px sans-serif';
  ctx.fillText(spec.title, width / 2, 24);
  ctx.font = '13px sans-serif';
  ctx.fillText(spec.xLabel, (MARGIN.left + width - MARGIN.right) / 2, height - 14);
  ctx.save();
  ctx.translate(18, (MARGIN.top + height - MARGIN.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(spec.yLabel, 0, 0);
  ctx.restore();
}

function drawLines(ctx: SKRSContext2D, frame: Frame, spec: PlotSpec): void {
  const right = frame.width - MARGIN.right;
  ctx.lineWidth = 1.5;
  for (const line of spec.hLines ?? []) {
    ctx.strokeStyle = line.dashed ? '#c33' : '#36c';
    ctx.setLineDash(line.dashed ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(MARGIN.left, frame.y(line.y));
    ctx.lineTo(right, frame.y(line.y));
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.textAlign = 'left';
    ctx.fillText(line.label, right + 6, frame.y(line.y) + 4);
  }
  ctx.setLineDash([]);
  if (spec.identity) {
    const [lo, hi] = frame.xr;
    ctx.strokeStyle = '#888';
    ctx.beginPath();
    ctx.moveTo(frame.x(lo), frame.y(lo));
    ctx.lineTo(frame.x(hi), frame.y(hi));
    ctx.stroke();
  }
}

export function renderPlotPng(spec: PlotSpec): Buffer {
  const width = spec.width ?? 640;
  const height = spec.height ?? 480;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const xs = spec.points.map((p) => p.x);
  const ys = [...spec.points.map((p) => p.y), ...(spec.hLines ?? []).map((l) => l.y)];
  let xr = range(xs.length ? xs : [0, 1]);
  let yr = range(ys.length ? ys : [0, 1]);
  if (spec.identity) xr = yr = range([...xs, ...ys]);
  const frame: Frame = {
    xr,
    yr,
    width,
    height,
    x: (v) => MARGIN.left + ((v - xr[0]) / (xr[1] - xr[0])) * (width - MARGIN.left - MARGIN.right),
    y: (v) => height - MARGIN.bottom - ((v - yr[0]) / (yr[1] - yr[0])) * (height - MARGIN.top - MARGIN.bottom),
  };
  drawAxes(ctx, frame, spec);
  drawLines(ctx, frame, spec);
  ctx.fillStyle = 'rgba(20, 90, 200, 0.75)';
  for (const p of spec.points) {
    ctx.beginPath();
    ctx.arc(frame.x(p.x), frame.y(p.y), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
  return canvas.toBuffer('image/png');
}
