variable "bucket_name" {
  description = "The mail bucket (Settings.bucket, CRM_BUCKET); bucket names are global, so choose your own."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed key for SSE-KMS; its policy must let ses.amazonaws.com generate data keys. null uses SSE-S3 (AES256)."
  type        = string
  default     = null
}

variable "inbox_prefix" {
  description = "Prefix SES writes received mail to."
  type        = string
  default     = "inbox/"
}

variable "quarantine_expiration_days" {
  description = "Days quarantined (spam) mail is kept before it expires."
  type        = number
  default     = 90
}

variable "inbox_transition_days" {
  description = "Days after which received mail moves to STANDARD_IA (at least 30); null keeps it in STANDARD."
  type        = number
  default     = 30

  validation {
    condition     = var.inbox_transition_days == null || try(var.inbox_transition_days >= 30, false)
    error_message = "S3 moves objects to STANDARD_IA after 30 days at the earliest."
  }
}

variable "inbox_expiration_days" {
  description = "Days after which received mail expires; null keeps it (it is the record of every conversation)."
  type        = number
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
  default     = 30
}

variable "access_logging" {
  description = "Server access logging: target bucket (SSE-S3 encrypted, as S3 requires) and key prefix; null disables it. An object, so that a bucket created in the same plan can be passed."
  type = object({
    bucket = string
    prefix = optional(string, "s3-access/")
  })
  default = null
}

variable "eventbridge_notifications" {
  description = "Send the bucket's object events to the default EventBridge bus."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Allow destroying a non-empty bucket (test stacks only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "ses_receipt_rule_arns" {
  description = "The receipt rules allowed to store received mail under inbox/ (aws:SourceArn of SES's writes)."
  type        = list(string)
}
