/**
 * `modelstack`: train, serve and invoke models on this machine with the same runtime and the
 * same AWS SDK calls as the cloud. One command per file.
 */
import { Command } from 'commander';
import { StdoutClosedError } from '../../model-runtime/src/closed-stdout.ts';
import { generateCommand } from './generate.ts';
import { inspectCommand } from './inspect.ts';
import { invokeCommand } from './invoke.ts';
import { packageCommand } from './package.ts';
import { serveCommand } from './serve.ts';
import { trainCommand } from './train.ts';
import { tuneCommand } from './tune.ts';

const program = new Command('modelstack')
  .description('Train, tune, serve and invoke modelstack models locally: no Docker, no AWS account needed.')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(trainCommand())
  .addCommand(tuneCommand())
  .addCommand(serveCommand())
  .addCommand(invokeCommand())
  .addCommand(packageCommand())
  .addCommand(inspectCommand())
  .addCommand(generateCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // stdout's reader left (`| head`): nothing failed worth reporting, and the exit status is already 141.
  if (!(error instanceof StdoutClosedError)) {
    process.stderr.write(`modelstack: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
