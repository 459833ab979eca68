variable "topology_file" {
  description = "Path to infra/topology.json; key schemas and GSIs come from its `tables` (projections.tables)."
  type        = string
}

variable "events_table_name" {
  description = "Event store table (CRM_EVENTS_TABLE)."
  type        = string
}

variable "conversations_table_name" {
  description = "Conversations projection table (CRM_CONVERSATIONS_TABLE)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for all three tables; null uses the AWS managed key (aws/dynamodb)."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Refuse to delete the tables (turn off only to tear down a test stack)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
