output "bus_name" {
  description = "Name of the bus (CRM_BUS_NAME)."
  value       = aws_cloudwatch_event_bus.this.name
}

output "bus_arn" {
  description = "ARN of the bus (events:PutEvents resource)."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "archive_arn" {
  description = "ARN of the archive, the source of StartReplay."
  value       = aws_cloudwatch_event_archive.this.arn
}

output "rule_arns" {
  description = "Rule name => rule ARN."
  value       = { for name, rule in aws_cloudwatch_event_rule.this : name => rule.arn }
}

output "rule_arns_by_consumer" {
  description = "Consumer name => ARNs of the rules that deliver to its queue (for the queue policy)."
  value = {
    for consumer in keys(local.topology.consumers) :
    consumer => [for name, r in local.rules : aws_cloudwatch_event_rule.this[name].arn if r.consumer == consumer]
  }
}

output "replay_safe_rule_arns" {
  description = "Rules of consumers without side effects: the only valid FilterArns of an archive replay (never senders)."
  value       = [for name, r in local.rules : aws_cloudwatch_event_rule.this[name].arn if !r.side_effects]
}

output "delivery_dlq_arn" {
  description = "ARN of the DLQ for failed EventBridge deliveries."
  value       = aws_sqs_queue.delivery_dlq.arn
}

output "delivery_dlq_url" {
  description = "URL of the DLQ for failed EventBridge deliveries."
  value       = aws_sqs_queue.delivery_dlq.id
}
