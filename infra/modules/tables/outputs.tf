output "events_table_name" {
  description = "Event store table name (CRM_EVENTS_TABLE)."
  value       = aws_dynamodb_table.events.name
}

output "events_table_arn" {
  description = "Event store table ARN."
  value       = aws_dynamodb_table.events.arn
}

output "conversations_table_name" {
  description = "Conversations table name (CRM_CONVERSATIONS_TABLE)."
  value       = aws_dynamodb_table.conversations["primary"].name
}

output "conversations_table_arn" {
  description = "Conversations table ARN (its GSIs are \"<arn>/index/<name>\")."
  value       = aws_dynamodb_table.conversations["primary"].arn
}

output "conversations_standby_table_name" {
  description = "The standby conversations table `crm replay --into` rebuilds."
  value       = aws_dynamodb_table.conversations["standby"].name
}

output "conversations_table_arns" {
  description = "ARNs of both conversations tables (live and standby): the readers and the projector use whichever the pointer names."
  value       = [for table in aws_dynamodb_table.conversations : table.arn]
}

output "conversations_index_names" {
  description = "The GSIs of the conversations table."
  value       = [for index in local.conversations.indexes : index.name]
}
