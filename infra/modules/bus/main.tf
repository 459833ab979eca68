locals {
  topology = jsondecode(file(var.topology_file))

  # rule name => what the rule needs; names, patterns and input templates are taken
  # from the export verbatim (never retyped here).
  rules = merge([
    for consumer, c in local.topology.consumers : {
      for rule_name, rule in c.rules : rule_name => {
        consumer       = consumer
        pattern        = rule.pattern
        input_template = rule.input_template
        side_effects   = c.side_effects
      }
    }
  ]...)

  delivery_dlq_name = "${var.bus_name}-delivery-dlq"
}

resource "aws_cloudwatch_event_bus" "this" {
  name = var.bus_name
  tags = var.tags
}

# Every event is archived: the event store is the source of truth, the archive lets a
# projection be rebuilt by replay (StartReplay with FilterArns = replay_safe_rule_arns).
resource "aws_cloudwatch_event_archive" "this" {
  name             = var.bus_name
  description      = "Every event on the ${var.bus_name} bus"
  event_source_arn = aws_cloudwatch_event_bus.this.arn
  retention_days   = var.archive_retention_days
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.rules

  name           = each.key
  description    = "Feeds the ${each.value.consumer} consumer (crm.topology)"
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = each.value.pattern
  tags           = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.rules

  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "${each.value.consumer}-queue"
  arn            = var.queue_arns[each.value.consumer]

  # The rules queue wraps the event with the name of the rule that matched.
  dynamic "input_transformer" {
    for_each = each.value.input_template == null ? [] : [each.value.input_template]
    content {
      input_paths    = {}
      input_template = input_transformer.value
    }
  }

  retry_policy {
    maximum_retry_attempts       = var.target_maximum_retry_attempts
    maximum_event_age_in_seconds = var.target_maximum_event_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.delivery_dlq.arn
  }
}

# Events EventBridge could not deliver to a consumer queue (queue policy or KMS
# mistakes, a deleted queue) land here instead of being dropped.
resource "aws_sqs_queue" "delivery_dlq" {
  name                              = local.delivery_dlq_name
  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = var.delivery_dlq_kms_key_arn == null ? true : null
  kms_master_key_id                 = var.delivery_dlq_kms_key_arn
  kms_data_key_reuse_period_seconds = var.delivery_dlq_kms_key_arn == null ? null : 300
  tags                              = var.tags
}

resource "aws_sqs_queue_policy" "delivery_dlq" {
  queue_url = aws_sqs_queue.delivery_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeRulesOfThisBus"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.delivery_dlq.arn
        Condition = { ArnEquals = { "aws:SourceArn" = [for r in aws_cloudwatch_event_rule.this : r.arn] } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.delivery_dlq.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_cloudwatch_metric_alarm" "delivery_dlq" {
  alarm_name          = "${local.delivery_dlq_name}-not-empty"
  alarm_description   = "EventBridge could not deliver events from bus ${var.bus_name} to a consumer queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.delivery_dlq.name }
  statistic           = "Maximum"
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
