output "name" {
  description = "Queue name."
  value       = aws_sqs_queue.this.name
}

output "arn" {
  description = "Queue ARN (EventBridge target, Lambda event source)."
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "Queue URL."
  value       = aws_sqs_queue.this.id
}

output "dlq_name" {
  description = "DLQ name."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_arn" {
  description = "DLQ ARN."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "DLQ URL (for `crm dlq redrive`)."
  value       = aws_sqs_queue.dlq.id
}

output "visibility_timeout_seconds" {
  description = "6 x the consumer's timeout."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}
