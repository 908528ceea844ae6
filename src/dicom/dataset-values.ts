/**
 * Readers for naturalized dcmjs values. dcmjs gives a scalar for one value and an array for
 * several, strings for numbers in DS/IS, and empty strings for empty elements; these functions
 * turn that into the types the node works with, treating empty as absent.
 */
import type { NaturalDataset } from './types.ts';

export function values(dataset: NaturalDataset, keyword: string): unknown[] {
  const value = dataset[keyword];
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

export function stringValue(dataset: NaturalDataset, keyword: string): string | undefined {
  const first = values(dataset, keyword)[0];
  if (first === undefined || first === null) return undefined;
  const text = String(first).replace(/\0/g, '').trim();
  return text === '' ? undefined : text;
}

export function stringValues(dataset: NaturalDataset, keyword: string): string[] {
  return values(dataset, keyword)
    .map((v) => String(v ?? '').replace(/\0/g, '').trim())
    .filter((v) => v !== '');
}

export function numberValues(dataset: NaturalDataset, keyword: string): number[] {
  return values(dataset, keyword)
    .map((v) => (typeof v === 'number' ? v : Number(String(v).trim())))
    .filter((v) => Number.isFinite(v));
}

export function numberValue(dataset: NaturalDataset, keyword: string): number | undefined {
  const list = numberValues(dataset, keyword);
  return list.length > 0 ? list[0] : undefined;
}

/** Exactly `count` finite numbers, or undefined: partial vectors are as bad as none. */
export function numberTuple<N extends number>(dataset: NaturalDataset, keyword: string, count: N): number[] | undefined {
  const raw = values(dataset, keyword);
  const list = numberValues(dataset, keyword);
  return list.length === count && raw.length === count ? list : undefined;
}
