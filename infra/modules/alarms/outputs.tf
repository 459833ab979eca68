output "topic_arn" {
  description = "ARN of the alarm topic (alarm_topic_arn of the other modules)."
  value       = aws_sns_topic.this.arn
}

output "topic_name" {
  description = "Name of the alarm topic."
  value       = aws_sns_topic.this.name
}
