output "identity_arn" {
  description = "ARN of the domain identity (what senders may send from)."
  value       = aws_sesv2_email_identity.domain.arn
}

output "configuration_set_name" {
  description = "Configuration set name (CRM_CONFIGURATION_SET)."
  value       = aws_sesv2_configuration_set.this.configuration_set_name
}

output "configuration_set_arn" {
  description = "Configuration set ARN."
  value       = aws_sesv2_configuration_set.this.arn
}

output "mail_from_domain" {
  description = "Custom MAIL FROM domain (CRM_MAIL_FROM_DOMAIN)."
  value       = aws_sesv2_email_identity_mail_from_attributes.domain.mail_from_domain
}

output "receipt_rule_set_name" {
  description = "The active receipt rule set."
  value       = aws_ses_receipt_rule_set.this.rule_set_name
}

output "dkim_tokens" {
  description = "Easy DKIM tokens (published as CNAMEs)."
  value       = aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens
}

output "receipt_rule_arns" {
  description = "ARNs of the two receipt rules (the bucket policy lets only they write inbox/)."
  value       = [for rule in local.receipt_rules : "${local.rule_arn_prefix}/${rule.name}"]
}
