variable "topic_name" {
  description = "Name of the SNS topic every alarm notifies."
  type        = string
  default     = "crm-alarms"
}

variable "kms_key_arn" {
  description = "Customer managed key for the topic. CloudWatch alarms cannot publish to a topic under the AWS managed aws/sns key, so the key policy must let cloudwatch.amazonaws.com use this one."
  type        = string
}

variable "email" {
  description = "Address subscribed to the topic (confirm the mail AWS sends); null subscribes nobody."
  type        = string
  default     = null
}

variable "bounce_rate_alarm_threshold" {
  description = "Alarm at this SES bounce rate of the account (SES reviews at 0.05)."
  type        = number
  default     = 0.04
}

variable "complaint_rate_alarm_threshold" {
  description = "Alarm at this SES complaint rate of the account (SES reviews at 0.001)."
  type        = number
  default     = 0.0008
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
