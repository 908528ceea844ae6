/**
 * The `ct-muscle-node` command. Each subcommand prints one JSON document on stdout (a public
 * contract for scripts); logs go to stderr. Exit codes: 0 done (per-file problems are reported
 * inside the JSON), 2 bad usage or configuration, 1 anything unexpected.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { describeError, isCtMuscleError } from '../errors.ts';
import { inspectPaths } from '../intake/inspect.ts';
import { logger, setLogLevel } from '../logging.ts';
import { runDemo } from '../demo.ts';

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function configFrom(command: Command): Config {
  const options = command.optsWithGlobals<{ config?: string }>();
  const config = loadConfig({ file: options.config });
  setLogLevel(config.logLevel);
  return config;
}

export function buildProgram(): Command {
  const program = new Command('ct-muscle-node')
    .description('Finds the T12 slice of CT studies, segments skeletal muscle, measures it and writes DICOM-SEG and TID 1500 SR.')
    .option('-c, --config <file>', 'configuration file (JSON) merged over config/default.json')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('inspect')
    .description('List the series in DICOM files or folders, their geometry, and the series the selection rules pick.')
    .argument('<paths...>', 'DICOM files or folders (searched recursively)')
    .action(async (paths: string[], _options: unknown, command: Command) => {
      const config = configFrom(command);
      printJson(await inspectPaths(paths, config.selection));
    });

  program
    .command('demo')
    .description('Run the job on a generated CT phantom with embedded defaults (no PACS, no model files).')
    .option('--out <dir>', 'where to write the phantom study (default: a new temporary folder)')
    .action(async (options: { out?: string }, command: Command) => {
      const config = configFrom(command);
      printJson(await runDemo({ outDir: options.out, config }));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const described = describeError(error);
    if (isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID') {
      process.stderr.write(`${described.code}: ${described.message}\n`);
      return 2;
    }
    logger.error('command failed', { code: described.code, message: described.message });
    process.stderr.write(`${described.code}: ${described.message}\n`);
    return 1;
  }
}
