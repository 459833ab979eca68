output "spam_patterns_parameter_name" {
  description = "CRM_PATTERNS_PARAMETER."
  value       = aws_ssm_parameter.spam_patterns.name
}

output "spam_patterns_parameter_arn" {
  description = "ARN of the spam pattern list."
  value       = aws_ssm_parameter.spam_patterns.arn
}

output "ack_templates_parameter_name" {
  description = "Name of the acknowledgement templates parameter."
  value       = aws_ssm_parameter.ack_templates.name
}

output "ack_templates_parameter_arn" {
  description = "ARN of the acknowledgement templates parameter."
  value       = aws_ssm_parameter.ack_templates.arn
}

output "token_key_parameter_name" {
  description = "CRM_TOKEN_KEY_PARAMETER."
  value       = aws_ssm_parameter.token_key.name
}

output "token_key_parameter_arn" {
  description = "ARN of the token key (SecureString)."
  value       = aws_ssm_parameter.token_key.arn
}

output "projection_pointer_parameter_name" {
  description = "Name of the projection pointer parameter"
  value       = aws_ssm_parameter.projection_pointer.name
}

output "projection_pointer_parameter_arn" {
  description = "ARN of the projection pointer parameter"
  value       = aws_ssm_parameter.projection_pointer.arn
}
