variable "name" {
  description = "Queue name (Settings.queue_name(consumer), e.g. crm-ack)."
  type        = string
}

variable "dlq_name" {
  description = "DLQ name; null means \"<name>-dlq\"."
  type        = string
  default     = null
}

variable "consumer_timeout_seconds" {
  description = "Timeout of the Lambda that drains the queue; the visibility timeout is 6 times this (AWS guidance for SQS event sources)."
  type        = number

  validation {
    condition     = var.consumer_timeout_seconds >= 1 && var.consumer_timeout_seconds <= 900
    error_message = "consumer_timeout_seconds must be a Lambda timeout (1-900)."
  }
}

variable "max_receive_count" {
  description = "Receives before a message moves to the DLQ (Settings.max_receive_count, CRM_MAX_RECEIVE_COUNT)."
  type        = number
  default     = 5
}

variable "message_retention_seconds" {
  description = "How long the queue keeps a message."
  type        = number
  default     = 345600
}

variable "dlq_message_retention_seconds" {
  description = "How long the DLQ keeps a message (the maximum, 14 days, leaves time to redrive)."
  type        = number
  default     = 1209600
}

variable "kms_key_arn" {
  description = "KMS key for both queues; null uses SQS-managed SSE. A CMK's key policy must let events.amazonaws.com use it."
  type        = string
  default     = null
}

variable "source_rule_arns" {
  description = "ARNs of the EventBridge rules allowed to send to the queue (nothing else may)."
  type        = list(string)
}

variable "max_message_age_seconds" {
  description = "Alarm when the queue's oldest message is older than this."
  type        = number
  default     = 3600
}

variable "alarm_topic_arn" {
  description = "SNS topic the DLQ-depth and message-age alarms notify."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
