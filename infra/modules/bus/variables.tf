variable "bus_name" {
  description = "Name of the custom EventBridge bus (Settings.bus_name, CRM_BUS_NAME)."
  type        = string
}

variable "topology_file" {
  description = "Path to infra/topology.json (written by `python -m crm.infra_export`); rules and patterns come from it."
  type        = string
}

variable "queue_arns" {
  description = "Consumer name (a key of topology.json's `consumers`) => ARN of the SQS queue its rules deliver to."
  type        = map(string)
}

variable "archive_retention_days" {
  description = "Days the archive keeps events; 0 keeps them forever (the design keeps every event)."
  type        = number
  default     = 0

  validation {
    condition     = var.archive_retention_days >= 0
    error_message = "archive_retention_days must be 0 (forever) or a positive number of days."
  }
}

variable "target_maximum_retry_attempts" {
  description = "How often EventBridge retries delivering an event to a queue before it goes to the delivery DLQ (0-185)."
  type        = number
  default     = 185
}

variable "target_maximum_event_age_seconds" {
  description = "How long EventBridge keeps retrying one delivery (60-86400 seconds)."
  type        = number
  default     = 86400
}

variable "delivery_dlq_kms_key_arn" {
  description = "KMS key for the delivery DLQ; null uses SQS-managed SSE. A CMK's key policy must let events.amazonaws.com use it."
  type        = string
  default     = null
}

variable "alarm_topic_arn" {
  description = "SNS topic the delivery-DLQ alarm notifies."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
