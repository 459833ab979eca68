# Triggers of the producers that are not SES receipt rules (those are in the mail
# module): SES sending events and the follow-up schedule, both on the default bus
# (SES sends its events there; schedules exist only there).

locals {
  default_bus = "default"

  # Bounces and complaints of our configuration set only: what ses-feedback
  # handles (the configuration set publishes no other type). Not from
  # topology.json: it is an AWS event, and the configuration set is a variable.
  ses_feedback_pattern = jsonencode({
    source = ["aws.ses"]
    detail = {
      eventType = ["Bounce", "Complaint"]
      mail      = { tags = { "ses:configuration-set" = [var.configuration_set] } }
    }
  })

  producer_triggers = {
    ses-feedback = { pattern = local.ses_feedback_pattern, schedule = null }
    followups    = { pattern = null, schedule = var.followups_schedule }
  }
}

resource "aws_cloudwatch_event_rule" "producer" {
  for_each = local.producer_triggers

  name                = "${var.function_prefix}${each.key}"
  description         = "Invokes the ${each.key} producer"
  event_bus_name      = local.default_bus
  event_pattern       = each.value.pattern
  schedule_expression = each.value.schedule
}

resource "aws_cloudwatch_event_target" "producer" {
  for_each = local.producer_triggers

  rule           = aws_cloudwatch_event_rule.producer[each.key].name
  event_bus_name = local.default_bus
  target_id      = "lambda"
  arn            = module.producer[each.key].function_arn

  retry_policy {
    maximum_retry_attempts       = 185
    maximum_event_age_in_seconds = 86400
  }

  dead_letter_config {
    arn = aws_sqs_queue.async_dlq.arn
  }
}

resource "aws_lambda_permission" "producer_trigger" {
  for_each = local.producer_triggers

  statement_id   = "AllowEventBridgeRule"
  action         = "lambda:InvokeFunction"
  function_name  = module.producer[each.key].function_name
  principal      = "events.amazonaws.com"
  source_account = local.account
  source_arn     = aws_cloudwatch_event_rule.producer[each.key].arn
}

# Failed asynchronous invocations of the producers (after Lambda's retries) and
# events the default-bus rules could not deliver.
resource "aws_sqs_queue" "async_dlq" {
  name                      = "${var.queue_prefix}async-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue_policy" "async_dlq" {
  queue_url = aws_sqs_queue.async_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DefaultBusRulesOfTheProducers"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.async_dlq.arn
        Condition = { ArnEquals = { "aws:SourceArn" = [for r in aws_cloudwatch_event_rule.producer : r.arn] } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sqs:*"
        Resource  = aws_sqs_queue.async_dlq.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_cloudwatch_metric_alarm" "async_dlq" {
  alarm_name          = "${aws_sqs_queue.async_dlq.name}-not-empty"
  alarm_description   = "A producer invocation failed for good (SES receipt, SES event or schedule)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.async_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [module.alarms.topic_arn]
  ok_actions          = [module.alarms.topic_arn]
}
