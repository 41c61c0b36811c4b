import { describe, expect, it } from 'vitest';
import { localClient } from '../../bin/cli/invoke.ts';

describe('modelstack invoke --local', () => {
  it('refuses an address without http:// or https:// and says what to write', () => {
    // new URL('localhost:8080') parses (scheme "localhost:"), and the SDK then failed with "Unknown: UnknownError".
    for (const url of ['localhost:8080', '127.0.0.1:8080', 'ftp://127.0.0.1:8080']) {
      expect(() => localClient(url), url).toThrow(/--local must be an http:\/\/ or https:\/\/ URL such as http:\/\/127\.0\.0\.1:8080/);
    }
    expect(() => localClient('not a url')).toThrow(/--local must be/);
  });

  it('accepts http and https URLs', () => {
    for (const url of ['http://127.0.0.1:8080', 'https://localhost:8443/']) localClient(url).destroy();
  });
});
