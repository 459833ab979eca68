# Variables named like a field of crm.settings.Settings default to the same value
# (tests/infra/test_agreement.py checks it), so a stack deployed with the defaults
# and the CLI's defaults name the same resources.

# --- identity -------------------------------------------------------------------

variable "region" {
  description = "AWS region; it must offer SES email receiving (e.g. us-east-1, us-west-2, eu-west-1)."
  type        = string
  default     = "us-east-1"
}

variable "public_address" {
  description = "The public contact address, e.g. hello@example.com; its domain is the one SES receives for."
  type        = string
}

variable "public_name" {
  description = "Display name of the public address."
  type        = string
}

variable "aliases" {
  description = "Other accepted addresses of the public domain."
  type        = list(string)
  default     = []
}

variable "reply_domain" {
  description = "Subdomain of the reply addresses, e.g. reply.example.com."
  type        = string
}

variable "private_mailbox" {
  description = "The owner's private mailbox; forwarded mail goes there, replies must come from it."
  type        = string
}

variable "relay_domains" {
  description = "Domains that relay messages on someone's behalf (source detection)."
  type        = list(string)
  default     = ["linkedin.com"]
}

variable "zone_id" {
  description = "Route53 hosted zone of the public domain."
  type        = string
}

variable "mail_from_subdomain" {
  description = "Label of the custom MAIL FROM domain: <label>.<domain>."
  type        = string
  default     = "bounce"
}

variable "dmarc_policy" {
  description = "DMARC policy (p=) of the public domain."
  type        = string
  default     = "quarantine"
}

variable "dmarc_rua" {
  description = "Address for DMARC aggregate reports; null for none."
  type        = string
  default     = null
}

# --- resource names (Settings defaults) --------------------------------------------

variable "bus_name" {
  description = "EventBridge bus."
  type        = string
  default     = "crm"
}

variable "events_table" {
  description = "Event store table."
  type        = string
  default     = "crm-events"
}

variable "conversations_table" {
  description = "Conversations projection table."
  type        = string
  default     = "crm-conversations"
}

variable "bucket" {
  description = "Mail bucket. Bucket names are global: set your own."
  type        = string
  default     = "crm-mail"
}

variable "queue_prefix" {
  description = "Prefix of every queue name (queue = <prefix><consumer>, DLQ = <prefix><consumer>-dlq)."
  type        = string
  default     = "crm-"
}

variable "configuration_set" {
  description = "SES configuration set."
  type        = string
  default     = "crm"
}

variable "patterns_parameter" {
  description = "SSM parameter of the spam pattern list."
  type        = string
  default     = "/crm/spam-patterns"
}

variable "spam_threshold" {
  description = "Total pattern score at which the pattern stage rejects (a pattern list may set its own, see `crm spam threshold`)."
  type        = number
  default     = 6
}

variable "token_key_parameter" {
  description = "SSM SecureString of the reply-token key."
  type        = string
  default     = "/crm/token-key"
}

variable "ack_templates_parameter" {
  description = "SSM parameter of the acknowledgement templates."
  type        = string
  default     = "/crm/ack-templates"
}

variable "function_prefix" {
  description = "Prefix of Lambda function names (<prefix>producer-<name>, <prefix>consumer-<name>)."
  type        = string
  default     = "crm-"
}

variable "alarm_topic_name" {
  description = "SNS topic of all alarms."
  type        = string
  default     = "crm-alarms"
}

# --- behaviour ---------------------------------------------------------------------

variable "mail_limits" {
  description = "Bounds on every parse of a mail (Settings.mail_max_*, CRM_MAIL_MAX_*); defaults as mail.limits.MailLimits."
  type = object({
    headers       = optional(number, 1000)
    header_line   = optional(number, 8192)
    header_bytes  = optional(number, 131072)
    addresses     = optional(number, 100)
    references    = optional(number, 20)
    depth         = optional(number, 20)
    parts         = optional(number, 1100)
    params        = optional(number, 100)
    comment_depth = optional(number, 20)
  })
  default = {}
}

variable "max_receive_count" {
  description = "Receives before a consumer's message goes to its DLQ."
  type        = number
  default     = 5
}

variable "ack_cap_per_hour" {
  description = "Acknowledgements allowed per hour; a burst past it is recorded, not sent (Settings.ack_cap_per_hour)."
  type        = number
  default     = 100
}

variable "token_key" {
  description = "HMAC key of reply tokens, e.g. `openssl rand -base64 48` (sensitive; ends up in the state)."
  type        = string
  sensitive   = true
}

variable "initial_spam_patterns" {
  description = "Initial spam patterns (later `crm spam patterns add` edits are kept)."
  type        = list(string)
  default     = []
}

variable "alarm_email" {
  description = "Address notified by every alarm; null for none."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrency by function (\"producer-inbound\", \"consumer-ack\" ...); unlisted functions are unreserved. Reservations come out of the account's concurrency quota, which must keep 100 unreserved: leave this empty on an account whose quota is below ~110 (new accounts often have 10). The senders' SES rate cap is the event source mapping's maximum_concurrency and needs no reservation."
  type        = map(number)
  default     = {}
}

variable "tracing_mode" {
  description = "X-Ray tracing of every function: PassThrough (default; the code adds no subsegments) or Active."
  type        = string
  default     = "PassThrough"
}

variable "activate_receipt_rule_set" {
  description = "Make this stack's receipt rule set the region's active one. A region has ONE active set: true replaces whatever set is active now (mail another application receives in this region stops). Set false to merge the two rules into an existing active set yourself."
  type        = bool
}

variable "bounce_rate_alarm_threshold" {
  description = "Alarm when the account's SES bounce rate reaches this (SES reviews an account at 5%)."
  type        = number
  default     = 0.04
}

variable "complaint_rate_alarm_threshold" {
  description = "Alarm when the account's SES complaint rate reaches this (SES reviews an account at 0.1%)."
  type        = number
  default     = 0.0008
}

variable "max_message_age_seconds" {
  description = "Alarm when a consumer queue's oldest message is older than this (a stuck or throttled consumer)."
  type        = number
  default     = 3600
}

variable "followups_schedule" {
  description = "How often the follow-up scheduler runs."
  type        = string
  default     = "rate(1 hour)"
}

variable "log_retention_days" {
  description = "Retention of every Lambda log group."
  type        = number
  default     = 365
}

variable "archive_retention_days" {
  description = "Retention of the event archive; 0 keeps every event."
  type        = number
  default     = 0
}

variable "deletion_protection" {
  description = "Deletion protection of the tables."
  type        = bool
  default     = true
}

variable "quarantine_expiration_days" {
  description = "Days quarantined mail is kept."
  type        = number
  default     = 90
}

variable "lambda_package" {
  description = "Zip built by `make package`; null means dist/lambda.zip at the repository root."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Architecture the package was built for."
  type        = string
  default     = "arm64"
}

variable "topology_file" {
  description = "infra/topology.json (`python -m crm.infra_export`); null means the one in this repository."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = { application = "conversation-crm" }
}
