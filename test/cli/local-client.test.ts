import { describe, expect, it } from 'vitest';
import { EndpointClient } from '../../lib/client/index.ts';
import { CLI_SETTINGS } from '../../bin/cli/invoke.ts';

/** The client `modelstack invoke --local URL` makes. */
const cliClient = (url: string) => new EndpointClient({ endpointName: 'e', url }, CLI_SETTINGS);

describe('modelstack invoke --local', () => {
  it('refuses an address without http:// or https:// and says what to write', () => {
    // new URL('localhost:8080') parses (scheme "localhost:"), and the SDK then failed with "Unknown: UnknownError".
    for (const url of ['localhost:8080', '127.0.0.1:8080', 'ftp://127.0.0.1:8080']) {
      expect(() => cliClient(url), url).toThrow(/--local must be an http:\/\/ or https:\/\/ URL such as http:\/\/127\.0\.0\.1:8080/);
    }
    expect(() => cliClient('not a url')).toThrow(/--local must be/);
  });

  it('accepts http and https URLs', () => {
    for (const url of ['http://127.0.0.1:8080', 'https://localhost:8443/']) cliClient(url).destroy();
  });
});
