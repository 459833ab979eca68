variable "spam_patterns_parameter_name" {
  description = "Parameter holding the spam pattern list (Settings.patterns_parameter, CRM_PATTERNS_PARAMETER)."
  type        = string
}

variable "initial_spam_patterns" {
  description = "Initial PCRE2 patterns; later edits (`crm spam patterns add`) are kept, tofu ignores the value after creation."
  type        = list(string)
  default     = []
}

variable "ack_templates_parameter_name" {
  description = "Parameter holding the acknowledgement templates (JSON: subject, text, html)."
  type        = string
}

variable "ack_templates" {
  description = "Acknowledgement templates ({name}, {subject}, {conversation_id}, {public_name} are filled in); null values use the code's defaults."
  type = object({
    subject = optional(string)
    text    = optional(string)
    html    = optional(string)
  })
  default = {}
}

variable "token_key_parameter_name" {
  description = "SecureString holding the HMAC key of reply tokens (Settings.token_key_parameter, CRM_TOKEN_KEY_PARAMETER)."
  type        = string
}

variable "token_key" {
  description = "The HMAC key of reply tokens (at least 32 random bytes, e.g. `openssl rand -base64 48`). It ends up in the state: keep the state encrypted."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.token_key) >= 32
    error_message = "token_key must be at least 32 characters of random data."
  }
}

variable "kms_key_arn" {
  description = "Customer managed key for the SecureString; null uses the AWS managed key (aws/ssm)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "projection_pointer_parameter_name" {
  description = "SSM parameter naming the conversations table readers use (projections/pointer.py)"
  type        = string
  default     = "/crm/projections/conversations/table"
}

variable "conversations_table_name" {
  description = "The conversations table the pointer starts at"
  type        = string
}
