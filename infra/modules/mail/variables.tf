variable "domain" {
  description = "The public domain (domain of Settings.public_address)."
  type        = string
}

variable "reply_domain" {
  description = "The reply subdomain that carries thread tokens (Settings.reply_domain), e.g. reply.example.com."
  type        = string
}

variable "public_recipients" {
  description = "Recipients rule 1 accepts; null accepts the whole public domain (the inbound Lambda then validates recipients)."
  type        = list(string)
  default     = null
}

variable "mail_from_subdomain" {
  description = "Custom MAIL FROM subdomain label: bounce.<domain> aligns SPF for DMARC."
  type        = string
  default     = "bounce"
}

variable "zone_id" {
  description = "Route53 hosted zone of the domain."
  type        = string
}

variable "configuration_set_name" {
  description = "SES configuration set every send uses (Settings.configuration_set)."
  type        = string
}

variable "feedback_event_types" {
  description = "SES events sent to the default EventBridge bus: what the ses-feedback Lambda handles (permanent bounces, complaints)."
  type        = list(string)
  default     = ["BOUNCE", "COMPLAINT"]
}

variable "activate_rule_set" {
  description = "Make the rule set the region's active one, replacing any other active set (a region has only one). false: add the rules to your active set yourself."
  type        = bool
}

variable "rule_set_name" {
  description = "Receipt rule set (active only with activate_rule_set; a region has one active set)."
  type        = string
  default     = "crm"
}

variable "bucket_name" {
  description = "Mail bucket the receipt rules store raw mail in; its policy must let SES write inbox/."
  type        = string
}

variable "inbox_prefix" {
  description = "Key prefix of received mail."
  type        = string
  default     = "inbox/"
}

variable "inbound_function_arn" {
  description = "producers.inbound Lambda (mail to the public domain)."
  type        = string
}

variable "reply_function_arn" {
  description = "producers.reply Lambda (mail to the reply subdomain)."
  type        = string
}

variable "dmarc_policy" {
  description = "DMARC p= of the public domain."
  type        = string
  default     = "quarantine"

  validation {
    condition     = contains(["none", "quarantine", "reject"], var.dmarc_policy)
    error_message = "dmarc_policy must be none, quarantine or reject."
  }
}

variable "dmarc_rua" {
  description = "Address for DMARC aggregate reports (rua=mailto:...); null sends none."
  type        = string
  default     = null
}

variable "spf_record" {
  description = "SPF TXT of the public domain; include the other senders of the domain if there are any."
  type        = string
  default     = "v=spf1 include:amazonses.com ~all"
}

variable "extra_domain_txt_records" {
  description = "Other TXT values of the domain apex (Route53 holds one TXT set per name), e.g. site verifications."
  type        = list(string)
  default     = []
}

variable "record_ttl" {
  description = "TTL of the DNS records."
  type        = number
  default     = 600
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
