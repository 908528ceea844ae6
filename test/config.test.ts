import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envOverrides, loadConfig } from '../src/config.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { makeTempDir } from './support/env.ts';

function rejectsWith(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID' && pattern.test(error.message));
}

describe('configuration', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-config-')));
  afterEach(() => tmp.remove());

  it('loads the defaults with the default selection rules filled in', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.level.target, 'T12');
    assert.equal(config.selection.modality, 'CT');
    assert.deepEqual([...config.selection.requireImageType], ['ORIGINAL', 'PRIMARY']);
  });

  it('merges a file over the defaults and the environment over both', () => {
    const file = join(tmp.path, 'site.json');
    writeFileSync(file, JSON.stringify({ level: { target: 'L3' }, selection: { maxAxialTiltDeg: 5 } }));
    const config = loadConfig({ file, env: { CT_MUSCLE_NODE__SELECTION__MAX_AXIAL_TILT_DEG: '8', CT_MUSCLE_NODE__LOG_LEVEL: 'debug' } });
    assert.equal(config.level.target, 'L3');
    assert.equal(config.selection.maxAxialTiltDeg, 8);
    assert.equal(config.logLevel, 'debug');
  });

  it('maps environment names onto existing keys', () => {
    assert.deepEqual(envOverrides({ CT_MUSCLE_NODE__OUTPUT__DIR: '/data/out', OTHER: 'x' }, { output: { dir: 'a' } }), { output: { dir: '/data/out' } });
  });

  it('names the key and the origin of a bad value', () => {
    rejectsWith(() => loadConfig({ env: { CT_MUSCLE_NODE__LEVEL__TARGET: 'T13' } }), /level\.target.*environment/);
    rejectsWith(() => loadConfig({ env: { CT_MUSCLE_NODE__SELECTION__MIN_SLICES: '0' } }), /selection\.minSlices/);
    const file = join(tmp.path, 'typo.json');
    writeFileSync(file, JSON.stringify({ outptu: {} }));
    rejectsWith(() => loadConfig({ file, env: {} }), /outptu/);
  });

  it('validates the segmentation and measurement sections (segmenter, cut-offs with a citation, area range)', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.segmentation.segmenter, 'default');
    assert.equal(config.segmentation.models.manifest, null);
    assert.deepEqual(config.measurement.cutoffs, []);
    rejectsWith(() => loadConfig({ env: { CT_MUSCLE_NODE__SEGMENTATION__SEGMENTER: 'unet' } }), /segmentation\.segmenter/);
    rejectsWith(() => loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__AREA_RANGE_CM2: '[300, 40]' } }), /measurement\.areaRangeCm2/);
    const file = join(tmp.path, 'cutoffs.json');
    writeFileSync(file, JSON.stringify({ measurement: { cutoffs: [{ sex: 'F', level: 'T12', areaBelow: 70 }] } }));
    rejectsWith(() => loadConfig({ file, env: {} }), /measurement\.cutoffs\.0\.citation/);
    writeFileSync(file, JSON.stringify({ measurement: { cutoffs: [{ sex: 'F', level: 'T12', areaBelow: 70, smiBelow: 30, citation: 'Someone et al. 2020' }] } }));
    rejectsWith(() => loadConfig({ file, env: {} }), /exactly one of smiBelow or areaBelow/);
  });

  it('refuses a server reachable from the network without credentials', () => {
    rejectsWith(() => loadConfig({ env: { CT_MUSCLE_NODE__SERVER__HOST: '0.0.0.0' } }), /server\.credentials/);
    const config = loadConfig({ env: { CT_MUSCLE_NODE__SERVER__HOST: '0.0.0.0', CT_MUSCLE_NODE__SERVER__CREDENTIALS__BEARER_TOKENS: '["0123456789abcdef-token"]' } });
    assert.equal(config.server.host, '0.0.0.0');
  });

  it('rejects unreadable and non-JSON files clearly', () => {
    rejectsWith(() => loadConfig({ file: join(tmp.path, 'missing.json'), env: {} }), /Cannot read configuration file/);
    const file = join(tmp.path, 'bad.json');
    writeFileSync(file, '{ not json');
    rejectsWith(() => loadConfig({ file, env: {} }), /not valid JSON/);
  });
});
