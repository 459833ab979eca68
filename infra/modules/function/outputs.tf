output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Function ARN (SES Lambda action, EventBridge target)."
  value       = aws_lambda_function.this.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Log group /aws/lambda/<name>."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy_json" {
  description = "The inline least-privilege policy (for review)."
  value       = data.aws_iam_policy_document.this.json
}
