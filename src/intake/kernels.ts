/**
 * Reconstruction-kernel classification. Muscle is segmented on soft-tissue reconstructions: sharp
 * (lung/bone) kernels add noise and edge overshoot that shift HU thresholds, so series selection
 * prefers soft kernels. Vendors name kernels differently; the patterns below cover the common ones
 * and anything unrecognised is 'unknown', which ranks between soft and sharp rather than guessing.
 */

/**
 * 'sharp' is a lung-or-bone kernel whose vendor naming does not say which; for ranking it is the
 * same as 'lung' and 'bone', the split only makes the reasons more precise.
 */
export type KernelClass = 'soft-tissue' | 'lung' | 'bone' | 'sharp' | 'unknown';

export interface KernelClassification {
  kernelClass: KernelClass;
  /** The kernel value or description the class was read from; null when nothing was recorded. */
  evidence: string | null;
  from: 'kernel' | 'description' | 'none';
}

/** Higher is preferred. Unknown sits in the middle: no evidence either way. */
export function kernelPreference(kernelClass: KernelClass): number {
  switch (kernelClass) {
    case 'soft-tissue':
      return 2;
    case 'unknown':
      return 1;
    default:
      return 0;
  }
}

// Siemens: prefix (B, Br, Bf, Bl, Bv, I, Ir, Q, Qr, D, H, Hr, J, U, …) + two-digit sharpness +
// optional suffix letters (f/s/h/d/u). T (topogram) is left out so "T12" in a description is not a kernel.
const SIEMENS_KERNEL = /^([BIQDHJU])([a-z]?)(\d{2})([a-z]{0,2})$/i;
// Canon/Toshiba: FCnn body/head kernels, FLnn lung kernels (AIDR).
const CANON_KERNEL = /^F([CL])(\d{2})$/i;

const GE_KERNELS: Readonly<Record<string, KernelClass>> = {
  STANDARD: 'soft-tissue',
  SOFT: 'soft-tissue',
  DETAIL: 'soft-tissue',
  LUNG: 'lung',
  CHST: 'lung',
  CHEST: 'lung',
  BONE: 'bone',
  BONEPLUS: 'bone',
  'BONE PLUS': 'bone',
  EDGE: 'sharp',
  ULTRA: 'sharp',
};

// Philips single/double-letter kernels. D, E and the Y-sharp family are used for both lung and bone.
const PHILIPS_KERNELS: Readonly<Record<string, KernelClass>> = {
  A: 'soft-tissue',
  B: 'soft-tissue',
  C: 'soft-tissue',
  UA: 'soft-tissue',
  UB: 'soft-tissue',
  UC: 'soft-tissue',
  L: 'lung',
  D: 'sharp',
  E: 'sharp',
  YA: 'sharp',
  YB: 'sharp',
  YC: 'sharp',
  YD: 'sharp',
  YE: 'sharp',
  YF: 'sharp',
};

// Words in free-text kernel names (Canon AiCE "Body Sharp", Philips IMR "SoftTissue", United
// Imaging "B_SOFT_B", …). Checked in this order so "Body Sharp" is sharp, not soft.
const KERNEL_WORDS: ReadonlyArray<[RegExp, KernelClass]> = [
  [/LUNG|PULMO/, 'lung'],
  [/BONE|OSTEO/, 'bone'],
  [/SHARP|EDGE/, 'sharp'],
  [/SOFT|STANDARD|SMOOTH|BODY|ABDOMEN|MEDIASTIN|BRAIN/, 'soft-tissue'],
];

// Series descriptions are free text in several languages; only fairly unambiguous words count.
const DESCRIPTION_WORDS: ReadonlyArray<[RegExp, KernelClass]> = [
  [/\b(lung\w*|pulmo\w*|poumons?)\b/i, 'lung'],
  [/\b(bone|knochen|osteo\w*)\b/i, 'bone'],
  [/\b(soft[\s_-]*tissue|soft|weichteil\w*|mediastin\w*|tissus?\s+mous)\b/i, 'soft-tissue'],
];

function classifySiemens(match: RegExpMatchArray): KernelClass {
  const family = match[1].toUpperCase();
  const variant = match[2].toUpperCase();
  const sharpness = Number(match[3]);
  if (variant === 'L') return 'lung'; // Bl57, Bl64: dedicated lung kernels
  if (sharpness < 50) return 'soft-tissue';
  if (sharpness >= 70 && sharpness < 80 && (family === 'B' || family === 'I')) return 'lung';
  if (sharpness >= 60 && sharpness < 70) return 'bone';
  return 'sharp';
}

function classifyCanon(match: RegExpMatchArray): KernelClass {
  const number = Number(match[2]);
  if (match[1].toUpperCase() === 'L') return 'lung';
  if (number >= 1 && number <= 18) return 'soft-tissue';
  if (number >= 50 && number <= 59) return 'lung';
  if (number >= 60 && number <= 86) return 'bone';
  return 'unknown'; // FC19-FC49 mix head and special-purpose kernels
}

function classifyByWords(text: string, words: ReadonlyArray<[RegExp, KernelClass]>): KernelClass {
  for (const [pattern, kernelClass] of words) {
    if (pattern.test(text)) return kernelClass;
  }
  return 'unknown';
}

/** The class of one ConvolutionKernel value, whatever the vendor. */
export function classifyKernelName(kernel: string): KernelClass {
  const trimmed = kernel.trim();
  if (trimmed === '') return 'unknown';
  // Siemens iterative strength ("Br40d\3", "I30f 3") travels with the kernel; the first token is the kernel.
  const firstToken = trimmed.split(/[\\/\s]+/)[0];
  const canon = CANON_KERNEL.exec(firstToken);
  if (canon) return classifyCanon(canon);
  const siemens = SIEMENS_KERNEL.exec(firstToken);
  if (siemens) return classifySiemens(siemens);
  const upper = trimmed.toUpperCase().replace(/[_\s]+/g, ' ');
  const withoutHd = upper.replace(/^HD /, ''); // GE HD-mode kernels ("HD STANDARD")
  const named = GE_KERNELS[withoutHd] ?? PHILIPS_KERNELS[withoutHd];
  if (named) return named;
  return classifyByWords(upper, KERNEL_WORDS);
}

/** Kernel-like tokens in a description ("Abdomen 1.0 Br38f"), for series whose kernel attribute is empty. */
function kernelTokensIn(description: string): string[] {
  return description.split(/[\s,;()]+/).filter((token) => SIEMENS_KERNEL.test(token) || CANON_KERNEL.test(token));
}

/**
 * The kernel class of a series: from ConvolutionKernel when it says something, else from the
 * description. The kernel attribute wins over the description because it describes the pixels;
 * a description is typed by a technologist and is only a hint.
 */
export function classifySeriesKernel(convolutionKernel: readonly string[], seriesDescription?: string): KernelClassification {
  for (const kernel of convolutionKernel) {
    const kernelClass = classifyKernelName(kernel);
    if (kernelClass !== 'unknown') return { kernelClass, evidence: kernel.trim(), from: 'kernel' };
  }
  const description = seriesDescription?.trim() ?? '';
  if (description !== '') {
    for (const token of kernelTokensIn(description)) {
      const kernelClass = classifyKernelName(token);
      if (kernelClass !== 'unknown') return { kernelClass, evidence: token, from: 'kernel' };
    }
    const kernelClass = classifyByWords(description, DESCRIPTION_WORDS);
    if (kernelClass !== 'unknown') return { kernelClass, evidence: description, from: 'description' };
  }
  const recorded = convolutionKernel.map((kernel) => kernel.trim()).filter((kernel) => kernel !== '' && !/^\d+$/.test(kernel));
  return recorded.length > 0
    ? { kernelClass: 'unknown', evidence: recorded.join('\\'), from: 'kernel' }
    : { kernelClass: 'unknown', evidence: null, from: 'none' };
}

/** "soft-tissue kernel B30f", "lung reconstruction (description "Lunge 1.0")", "no kernel recorded". */
export function describeKernel(classification: KernelClassification): string {
  const { kernelClass, evidence, from } = classification;
  if (from === 'none' || evidence === null) return 'no kernel recorded';
  const label = kernelClass === 'sharp' ? 'sharp (lung/bone)' : kernelClass === 'unknown' ? 'unclassified' : kernelClass;
  return from === 'kernel' ? `${label} kernel ${evidence}` : `${label} reconstruction (description "${evidence}")`;
}
