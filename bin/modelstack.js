#!/usr/bin/env node
// The `modelstack` command. The CLI is TypeScript; registering tsx's loader lets it run
// straight from source, with no build step between `npm ci` and a working command.
import { register } from 'tsx/esm/api';

register();
await import('./cli/main.ts');
