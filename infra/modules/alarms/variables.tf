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

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
