/**
 * The serving bench's ceiling: a bare node:http server that reads each request to its end and
 * answers a fixed body with the same headers modelstack sends (content-type, content-length),
 * so the only difference from `modelstack serve` is the work modelstack does per request
 * (routing, decoding, the forward pass, encoding, the log line).
 *
 *   node --import tsx bench/serve/bare-server.ts PORT BODY_FILE
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [port, bodyFile] = process.argv.slice(2);
if (port === undefined || bodyFile === undefined) throw new Error('usage: bare-server.ts PORT BODY_FILE');
const body = readFileSync(bodyFile);
const headers = { 'content-type': 'application/json', 'content-length': body.length };

http
  .createServer((request, response) => {
    request.on('data', () => undefined);
    request.on('end', () => {
      response.writeHead(200, headers);
      response.end(body);
    });
  })
  .listen(Number(port), '127.0.0.1');
