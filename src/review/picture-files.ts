/**
 * The study page's PNGs, rendered on first request and kept beside the study's outputs
 * (<outputs>/<study>/review/), named by what they show so a new result never gets an old picture.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { groupIntoSeries } from '../dicom/series.ts';
import { buildVolume } from '../dicom/volume.ts';
import type { VertebraEvidence } from '../model/index.ts';
import type { Basis } from './basis.ts';
import { axialRgba, encodePng, reformatPicture } from './pictures.ts';

export interface ReformatMeta {
  width: number;
  height: number;
  topZMm: number;
  bottomZMm: number;
  levelRow: number;
  /** z (mm) of every slice of the measured series, by index (inferior → superior). */
  slicesZMm: number[];
}

const safe = (uid: string) => uid.replace(/[^0-9.]/g, '_');

async function cached(path: string, make: () => Promise<Buffer>): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch {
    const bytes = await make();
    await writeFile(path, bytes);
    return bytes;
  }
}

function folder(outputsDir: string, uid: string): Promise<string | undefined> {
  return mkdir(join(outputsDir, uid, 'review'), { recursive: true });
}

/** The measured slice with the mask in force (the node's or the edited one). */
export async function axialPng(outputsDir: string, uid: string, basis: Basis): Promise<Buffer> {
  await folder(outputsDir, uid);
  const seg = basis.srInput.seg!;
  const name = `axial-${safe(basis.ordered[basis.sliceIndex].sopInstanceUid)}-${safe(seg.sopInstanceUid)}.png`;
  return cached(join(outputsDir, uid, 'review', name), async () => {
    const volume = await buildVolume(groupIntoSeries(basis.ordered)[0], { sliceIndices: [basis.sliceIndex] });
    const { rows, columns } = volume.geometry;
    return encodePng(axialRgba(volume.hu, basis.mask, rows, columns), columns, rows);
  });
}

/** The sagittal reformat with the level line at the measured slice and the vertebrae found. */
export async function reformatPng(outputsDir: string, uid: string, basis: Basis, vertebrae: VertebraEvidence[]): Promise<{ png: Buffer; meta: ReformatMeta }> {
  await folder(outputsDir, uid);
  const base = join(outputsDir, uid, 'review', `reformat-${safe(basis.ordered[basis.sliceIndex].sopInstanceUid)}`);
  try {
    return { png: await readFile(`${base}.png`), meta: JSON.parse(await readFile(`${base}.json`, 'utf8')) as ReformatMeta };
  } catch {
    const volume = await buildVolume(groupIntoSeries(basis.ordered)[0]);
    const slicesZMm = volume.slices.map((s) => s.zMm);
    const { rows, columns, pixelSpacingMm } = volume.geometry;
    const picture = reformatPicture({ hu: volume.hu, rows, columns, slicesZMm, pixelSpacingMm }, slicesZMm[basis.sliceIndex], vertebrae);
    const meta: ReformatMeta = { width: picture.width, height: picture.height, topZMm: picture.topZMm, bottomZMm: picture.bottomZMm, levelRow: picture.levelRow, slicesZMm };
    await writeFile(`${base}.png`, picture.png);
    await writeFile(`${base}.json`, JSON.stringify(meta));
    return { png: picture.png, meta };
  }
}
