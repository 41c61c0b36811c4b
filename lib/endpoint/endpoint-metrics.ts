import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** Invocation metrics, published by SageMaker per endpoint and variant. */
export const INVOCATION_NAMESPACE = 'AWS/SageMaker';
/** Instance utilisation metrics (CPU, memory, GPU, disk), published by the hosting agent. */
export const ENDPOINT_INSTANCE_NAMESPACE = '/aws/sagemaker/Endpoints';
/** Metrics parsed from training jobs' stdout by the runtime's MetricDefinitions. */
export const TRAINING_JOB_NAMESPACE = '/aws/sagemaker/TrainingJobs';

/**
 * The CloudWatch metrics of one endpoint variant, addressable by name alone: they exist
 * before the endpoint does, so dashboards and alarms can be deployed ahead of the first model.
 *
 * Units as SageMaker publishes them: latencies in microseconds, utilisation in percent where
 * 100 is one full core or GPU (a 4-GPU instance reaches 400).
 */
export class EndpointMetrics {
  constructor(
    /** The endpoint's name. */
    readonly endpointName: string,
    /** The production variant's name. */
    readonly variantName: string,
  ) {}

  /** Any metric of this variant in `namespace`. */
  metric(metricName: string, namespace: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace,
      metricName,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variantName },
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Requests sent to the variant. @default Sum over 1 minute */
  invocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocations', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** Requests per instance, the metric target tracking scales on. @default Sum over 1 minute */
  invocationsPerInstance(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('InvocationsPerInstance', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** Time the model container took to answer, in microseconds. @default Average over 1 minute */
  modelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ModelLatency', INVOCATION_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Time SageMaker added around the model, in microseconds. @default Average over 1 minute */
  overheadLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OverheadLatency', INVOCATION_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Requests answered with a 4XX (bad input, throttling, abuse). @default Sum over 1 minute */
  invocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation4XXErrors', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** Requests answered with a 5XX (model or platform failure). @default Sum over 1 minute */
  invocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** CPU utilisation, percent per core summed over cores. @default Average over 1 minute */
  cpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CPUUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Memory utilisation in percent. @default Average over 1 minute */
  memoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MemoryUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** GPU utilisation, percent per GPU summed over GPUs. @default Average over 1 minute */
  gpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('GPUUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** GPU memory utilisation, percent per GPU summed over GPUs. @default Average over 1 minute */
  gpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('GPUMemoryUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Disk utilisation in percent. @default Average over 1 minute */
  diskUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DiskUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }
}
