/**
 * Reads a synthesized state machine definition back as JSON: DefinitionString is an Fn::Join of
 * literal pieces and CloudFormation references; references become `${LogicalId}` /
 * `${LogicalId.Attribute}` placeholders so assertions can name them.
 */
import type { Template } from 'aws-cdk-lib/assertions';

export interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ResultSelector?: Record<string, unknown>;
  readonly ResultPath?: string | null;
  readonly Retry?: ReadonlyArray<{ ErrorEquals: string[]; IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number; JitterStrategy?: string }>;
  readonly Catch?: ReadonlyArray<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  readonly Choices?: ReadonlyArray<Record<string, unknown> & { Next: string }>;
  readonly Default?: string;
  readonly [key: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly TimeoutSeconds?: number;
}

function placeholder(part: unknown): string {
  if (typeof part === 'string') return part;
  const value = part as Record<string, unknown>;
  if ('Ref' in value) return `\${${String(value.Ref)}}`;
  if ('Fn::GetAtt' in value) return `\${${(value['Fn::GetAtt'] as string[]).join('.')}}`;
  return JSON.stringify(value).replace(/"/g, "'");
}

/** The definitions of every state machine in the template whose logical id contains `match`. */
export function stateMachineDefinition(template: Template, match: string): AslDefinition {
  const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.includes(match));
  if (machines.length !== 1) throw new Error(`expected one state machine matching ${match}, found ${machines.map(([id]) => id).join(', ')}`);
  const definition = (machines[0]![1] as { Properties: { DefinitionString: unknown } }).Properties.DefinitionString;
  const text =
    typeof definition === 'string'
      ? definition
      : ((definition as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]).map(placeholder).join('');
  return JSON.parse(text) as AslDefinition;
}
