/**
 * `modelstack serve <model>`: the container's `serve` on this machine, on loopback by default.
 */
import { Command, InvalidArgumentError } from 'commander';
import { serveConfigFromEnv } from '../../model-runtime/src/serve/serve-config.ts';
import { serveModel } from '../../model-runtime/src/serve/serve-model.ts';
import { exitCodeAfter } from '../../model-runtime/src/serve/stop-reason.ts';
import { openModel } from './model-source.ts';

interface ServeOptions {
  readonly port?: number;
  readonly host: string;
  readonly workers?: number;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('Serve a model with SageMaker\'s /ping and /invocations contract (and the runtime API path the AWS SDK calls).')
    .argument('<model>', 'model.tar.gz written by `modelstack train`, or an extracted model folder')
    // No commander default: serveConfigFromEnv reads (and checks) SAGEMAKER_BIND_TO_PORT when --port is absent.
    .option('-p, --port <port>', 'port to listen on; 0 picks a free one (default: SAGEMAKER_BIND_TO_PORT or 8080)', parseWholeNumber('port', 0, 65535))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('-w, --workers <count>', 'worker processes (default: SAGEMAKER_MODEL_SERVER_WORKERS or 1)', parseWholeNumber('workers', 1, 256))
    .addHelpText('after', `
Examples:
  $ modelstack serve model.tar.gz --port 8080
  $ curl -s localhost:8080/invocations -H 'content-type: text/csv' --data-binary $'1.5\\n2.0'
  $ modelstack invoke my-endpoint --local http://127.0.0.1:8080 --body '{"instances": [[1.5]]}'

Stops on Ctrl-C or SIGTERM after finishing the requests in flight; also when stdout's reader
leaves (\`| head\`), then with exit status 141.`)
    .action(async (source: string, options: ServeOptions) => {
      // Settings first: a bad environment variable is reported before an archive is extracted.
      const config = serveConfigFromEnv(process.env, {
        port: options.port,
        host: options.host,
        workers: options.workers ?? (process.env.SAGEMAKER_MODEL_SERVER_WORKERS === undefined ? 1 : undefined),
      });
      const model = await openModel(source);
      try {
        const stopped = await serveModel(model.dir, config, {
          onReady: (port) => process.stderr.write(`modelstack: serving ${source} at http://${options.host}:${port} (Ctrl-C to stop)\n`),
        });
        process.exitCode = exitCodeAfter(stopped); // 141 when stdout's reader left (`| head`)
      } finally {
        await model.cleanup();
      }
    });
}

export function parseWholeNumber(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, not '${value}'.`);
    }
    return number;
  };
}
