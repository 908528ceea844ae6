/** The level finder's input options; its result and evidence are data model (src/model/levels.ts). */
import type { LevelName } from '../model/index.ts';

export interface LevelOptions {
  /** Vertebra whose mid-body slice is wanted (default 'T12'). */
  target?: LevelName;
  /** A slice chosen by a person: returned as is, whatever the image shows. */
  sopInstanceUid?: string;
}
