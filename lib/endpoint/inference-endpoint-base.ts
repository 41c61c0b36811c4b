import { Duration, type IResource, Resource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ENDPOINT_INSTANCE_NAMESPACE, INVOCATION_NAMESPACE } from '../metric-namespaces.ts';

/**
 * A SageMaker inference endpoint, whoever owns it: one CloudFormation creates
 * (`new InferenceEndpoint`) or one imported by name (`InferenceEndpoint.fromEndpointName`), such
 * as the endpoint the training pipeline creates on its first deployment. Dashboards, alarms and
 * grants take this interface, so both kinds get the same ones.
 */
export interface IInferenceEndpoint extends IResource {
  /** The endpoint's name. @attribute */
  readonly endpointName: string;
  /** The endpoint's ARN. @attribute */
  readonly endpointArn: string;
  /** The production variant whose metrics the `metric*()` methods return. */
  readonly variantName: string;

  /** Let `grantee` invoke the endpoint (real-time, streaming and async). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;

  /** Any metric of the variant in `namespace`. */
  metric(metricName: string, namespace: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Requests sent to the variant. */
  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Requests per instance (what target tracking scales on). */
  metricInvocationsPerInstance(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Model latency in microseconds. */
  metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** SageMaker overhead latency in microseconds. */
  metricOverheadLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** 4XX responses. */
  metricInvocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** 5XX responses. */
  metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** CPU utilisation in percent (per core, summed). */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Memory utilisation in percent. */
  metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** GPU utilisation in percent (per GPU, summed). */
  metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** GPU memory utilisation in percent (per GPU, summed). */
  metricGpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Disk utilisation in percent. */
  metricDiskUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/**
 * What every endpoint does the same way, owned or imported: the invoke grant, and its metrics,
 * addressed by name alone, so dashboards and alarms can be deployed ahead of the first model.
 *
 * Units as SageMaker publishes them: latencies in microseconds, utilisation in percent where
 * 100 is one full core or GPU (a 4-GPU instance reaches 400).
 */
export abstract class InferenceEndpointBase extends Resource implements IInferenceEndpoint {
  abstract readonly endpointName: string;
  abstract readonly endpointArn: string;
  abstract readonly variantName: string;

  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync', 'sagemaker:InvokeEndpointWithResponseStream'],
      resourceArns: [this.endpointArn],
    });
  }

  /** Any metric of this variant in `namespace`. @default over 1 minute */
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
  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocations', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** Requests per instance, the metric target tracking scales on. @default Sum over 1 minute */
  metricInvocationsPerInstance(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('InvocationsPerInstance', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** Time the model container took to answer, in microseconds. @default Average over 1 minute */
  metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ModelLatency', INVOCATION_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Time SageMaker added around the model, in microseconds. @default Average over 1 minute */
  metricOverheadLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OverheadLatency', INVOCATION_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Requests answered with a 4XX (bad input, throttling, abuse). @default Sum over 1 minute */
  metricInvocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation4XXErrors', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** Requests answered with a 5XX (model or platform failure). @default Sum over 1 minute */
  metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', INVOCATION_NAMESPACE, { statistic: 'Sum', ...props });
  }

  /** CPU utilisation, percent per core summed over cores. @default Average over 1 minute */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CPUUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Memory utilisation in percent. @default Average over 1 minute */
  metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MemoryUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** GPU utilisation, percent per GPU summed over GPUs. @default Average over 1 minute */
  metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('GPUUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** GPU memory utilisation, percent per GPU summed over GPUs. @default Average over 1 minute */
  metricGpuMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('GPUMemoryUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }

  /** Disk utilisation in percent. @default Average over 1 minute */
  metricDiskUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DiskUtilization', ENDPOINT_INSTANCE_NAMESPACE, { statistic: 'Average', ...props });
  }
}
