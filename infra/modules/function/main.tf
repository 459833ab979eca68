data "aws_region" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.name}"

  environment = merge(var.environment, {
    POWERTOOLS_SERVICE_NAME      = coalesce(var.service_name, var.name)
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
  })

  index_actions    = ["dynamodb:Query", "dynamodb:Scan"]
  kms_via_services = [for s in ["s3", "ssm", "dynamodb", "sqs"] : "${s}.${data.aws_region.current.name}.amazonaws.com"]
  bucket_grants = {
    Read   = { actions = ["s3:GetObject"], prefixes = var.bucket_read_prefixes }
    Write  = { actions = ["s3:PutObject"], prefixes = var.bucket_write_prefixes }
    Delete = { actions = ["s3:DeleteObject"], prefixes = var.bucket_delete_prefixes }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaService"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Execution role of the ${var.name} Lambda (least privilege)"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # X-Ray has no resource-level permissions: AWS requires "*". Only with Active
  # tracing, when Lambda sends the function's segments.
  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? ["Active"] : []
    content {
      sid       = "XRayTracing"
      actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      resources = ["*"]
    }
  }

  dynamic "statement" {
    for_each = var.dynamodb_tables
    content {
      sid     = "DynamoDB${statement.key}"
      actions = statement.value.actions
      resources = concat(
        statement.value.arns,
        length(setintersection(statement.value.actions, local.index_actions)) > 0 ? [for arn in statement.value.arns : "${arn}/index/*"] : [],
      )
    }
  }

  dynamic "statement" {
    for_each = { for kind, grant in local.bucket_grants : kind => grant if length(grant.prefixes) > 0 }
    content {
      sid       = "Bucket${statement.key}"
      actions   = statement.value.actions
      resources = [for prefix in statement.value.prefixes : "${var.bucket_arn}/${prefix}*"]
    }
  }

  # The event source mapping receives and deletes; the code's backoff looks the
  # queue up (GetQueueUrl) and changes the failed message's visibility.
  dynamic "statement" {
    for_each = var.sqs_event_source == null ? [] : [var.sqs_event_source.queue_arn]
    content {
      sid = "ConsumeOwnQueue"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
      ]
      resources = [statement.value]
    }
  }

  # Queues the code sends to by name: it looks their URL up first.
  dynamic "statement" {
    for_each = length(var.queue_send_arns) > 0 ? [var.queue_send_arns] : []
    content {
      sid       = "SendToQueues"
      actions   = ["sqs:SendMessage", "sqs:GetQueueUrl"]
      resources = statement.value
    }
  }

  # Lambda itself sends failed asynchronous invocations to the DLQ, with this role.
  dynamic "statement" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
    content {
      sid       = "AsyncDeadLetterQueue"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = length(var.event_bus_arns) > 0 ? [var.event_bus_arns] : []
    content {
      sid       = "PublishEvents"
      actions   = ["events:PutEvents"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? [var.ssm_parameter_arns] : []
    content {
      sid       = "ReadParameters"
      actions   = ["ssm:GetParameter"]
      resources = statement.value
    }
  }

  # SES v2 SendEmail authorizes the identity and the configuration set; the
  # conditions keep the function to the sender addresses (and recipients) it has.
  dynamic "statement" {
    for_each = length(var.ses_identity_arns) > 0 ? [concat(var.ses_identity_arns, var.ses_configuration_set_arns)] : []
    content {
      sid       = "SendMail"
      actions   = ["ses:SendEmail"]
      resources = statement.value
      condition {
        test     = "StringEquals"
        variable = "ses:FromAddress"
        values   = var.ses_from_addresses
      }
      dynamic "condition" {
        for_each = length(var.ses_recipients) > 0 ? [var.ses_recipients] : []
        content {
          test     = "ForAllValues:StringEquals"
          variable = "ses:Recipients"
          values   = condition.value
        }
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [var.kms_key_arns] : []
    content {
      sid       = "UseKeysThroughServices"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = statement.value
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_services
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions reach only public AWS APIs (DynamoDB, S3, SQS, EventBridge, SES, SSM) and no private network; a VPC would add NAT or interface endpoints without narrowing access, which IAM already limits.
  #checkov:skip=CKV_AWS_116:A DLQ is set (dead_letter_queue_arn) for asynchronously invoked functions; queue-fed functions are invoked synchronously by the event source mapping, where the source queue's redrive policy is the DLQ.
  #checkov:skip=CKV_AWS_272:Code signing is opt-in (code_signing_config_arn) because it needs an AWS Signer profile and a signed S3 artifact; by default the zip from `make package` is pinned by source_code_hash.
  function_name                  = var.name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = var.architectures
  filename                       = var.filename
  source_code_hash               = filebase64sha256(var.filename)
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  code_signing_config_arn        = var.code_signing_config_arn

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]
    content {
      target_arn = dead_letter_config.value
    }
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

resource "aws_lambda_event_source_mapping" "sqs" {
  count = var.sqs_event_source == null ? 0 : 1

  event_source_arn                   = var.sqs_event_source.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.sqs_event_source.batch_size
  maximum_batching_window_in_seconds = var.sqs_event_source.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.sqs_event_source.maximum_concurrency == null ? [] : [var.sqs_event_source.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "The ${var.name} Lambda reported errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

# Throttled invocations: the account's concurrency (or this function's reserved
# concurrency) is exhausted; queue-fed messages wait, asynchronous ones are retried.
resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.name}-throttles"
  alarm_description   = "The ${var.name} Lambda was throttled (account or reserved concurrency exhausted)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
