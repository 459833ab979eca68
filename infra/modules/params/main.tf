# A JSON list of PCRE2 patterns. Not a secret: a String, readable by `crm spam
# patterns` without kms:Decrypt. tofu creates it and never resets it, so patterns
# added with the CLI survive every apply.
resource "aws_ssm_parameter" "spam_patterns" {
  #checkov:skip=CKV2_AWS_34:Non-secret spam keyword list; a String so the CLI edits it in place. The secret (token key) is a SecureString.
  #checkov:skip=CKV_AWS_337:key_id only applies to SecureString parameters; this String holds no secret.
  name        = var.spam_patterns_parameter_name
  description = "Spam stage 3: JSON list of PCRE2 patterns (edit with `crm spam patterns`)"
  type        = "String"
  tier        = "Standard"
  value       = jsonencode(var.initial_spam_patterns)
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "ack_templates" {
  #checkov:skip=CKV2_AWS_34:Acknowledgement wording is public (every correspondent receives it); no secret to encrypt.
  #checkov:skip=CKV_AWS_337:key_id only applies to SecureString parameters; this String holds no secret.
  name        = var.ack_templates_parameter_name
  description = "Acknowledgement templates (JSON: subject, text, html; null = built-in)"
  type        = "String"
  tier        = "Intelligent-Tiering" # Advanced only if the templates outgrow 4 KB
  value       = jsonencode(var.ack_templates)
  tags        = var.tags
}

resource "aws_ssm_parameter" "projection_pointer" {
  #checkov:skip=CKV2_AWS_34:Holds a table name, not a secret.
  #checkov:skip=CKV_AWS_337:key_id only applies to SecureString parameters; this String holds no secret.
  name        = var.projection_pointer_parameter_name
  description = "The conversations table readers use; `crm replay --into TABLE` switches it"
  type        = "String"
  value       = var.conversations_table_name
  tags        = var.tags

  lifecycle {
    # replay switches the pointer at run time; apply must not switch it back
    ignore_changes = [value]
  }
}

resource "aws_ssm_parameter" "token_key" {
  name        = var.token_key_parameter_name
  description = "HMAC key of reply-address tokens"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = var.token_key
  tags        = var.tags
}
