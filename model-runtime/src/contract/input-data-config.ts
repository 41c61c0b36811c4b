/**
 * inputdataconfig.json: channel name -> { ContentType, TrainingInputMode, S3DistributionType }.
 * Optional in local mode (the channel folders alone are enough).
 */
import { readFile } from 'node:fs/promises';

export interface ChannelConfig {
  readonly contentType: string | null;
  readonly inputMode: string | null;
}

export type InputDataConfig = ReadonlyMap<string, ChannelConfig>;

/** Input modes that present the data as files under input/data/<channel>/. */
const FILE_MODES = ['File', 'FastFile'];

export class InputDataConfigError extends Error {
  constructor(message: string) {
    super(`inputdataconfig.json: ${message}`);
    this.name = 'InputDataConfigError';
  }
}

export async function readInputDataConfig(file: string): Promise<InputDataConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  return parseInputDataConfig(text);
}

export function parseInputDataConfig(text: string): InputDataConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputDataConfigError(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputDataConfigError('must be a JSON object of channel name -> configuration');
  }
  const channels = new Map<string, ChannelConfig>();
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    const config = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const contentType = typeof config.ContentType === 'string' && config.ContentType !== '' ? config.ContentType : null;
    const inputMode = typeof config.TrainingInputMode === 'string' ? config.TrainingInputMode : null;
    if (inputMode !== null && !FILE_MODES.includes(inputMode)) {
      throw new InputDataConfigError(
        `channel ${name} has TrainingInputMode ${inputMode}; this runtime reads files, so use File or FastFile`,
      );
    }
    channels.set(name, { contentType, inputMode });
  }
  return channels;
}
