#!/usr/bin/env node
// The CDK app (`npx cdk synth`, `npx cdk deploy`): one ModelStack, configured through the CDK
// context (see bin/config.ts and the README's configuration reference).
import { App } from 'aws-cdk-lib';
import { PropValidationError } from '../lib/validation.ts';
import { buildApp } from './build-app.ts';
import { ConfigError } from './config.ts';

const app = new App();
try {
  buildApp(app);
} catch (error) {
  if (error instanceof ConfigError || error instanceof PropValidationError) {
    console.error(`modelstack configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
app.synth();
