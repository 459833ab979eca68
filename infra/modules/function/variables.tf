variable "name" {
  description = "Function name; also the IAM role's name and the log group /aws/lambda/<name>."
  type        = string
}

variable "description" {
  description = "Function description."
  type        = string
  default     = ""
}

variable "handler" {
  description = "Handler as module.function, e.g. consumers.senders.ack.handler (from topology.json)."
  type        = string
}

variable "filename" {
  description = "Path of the deployment zip built by `make package`."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "python3.12"
}

variable "architectures" {
  description = "Instruction set; the package must be built for it (native wheels: pcre2, pydantic-core)."
  type        = list(string)
  default     = ["arm64"]
}

variable "timeout" {
  description = "Timeout in seconds (a queue feeding the function needs a visibility timeout of 6x this)."
  type        = number
  default     = 60
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 512
}

variable "environment" {
  description = "Environment variables (the CRM_* settings); POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE are added."
  type        = map(string)
  default     = {}
}

variable "service_name" {
  description = "POWERTOOLS_SERVICE_NAME; null uses the function name."
  type        = string
  default     = null
}

variable "metrics_namespace" {
  description = "POWERTOOLS_METRICS_NAMESPACE: where the function's metrics land (EMF log lines, no PutMetricData call)."
  type        = string
  default     = "crm"
}

variable "tracing_mode" {
  description = "X-Ray tracing: PassThrough (the code adds no subsegments) or Active (Lambda traces every invocation; grants xray:PutTraceSegments)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency, taken from the account's quota (which must keep 100 unreserved); null leaves the function unreserved."
  type        = number
  default     = null
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the environment variables and the log group; null uses AWS managed keys."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of /aws/lambda/<name>."
  type        = number
  default     = 365
}

variable "dead_letter_queue_arn" {
  description = "SQS queue for failed asynchronous invocations (SES and EventBridge triggers); null for queue-fed functions, whose queue has its own DLQ."
  type        = string
  default     = null
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration to enforce; null deploys the zip unsigned (verified by source_code_hash)."
  type        = string
  default     = null
}

variable "sqs_event_source" {
  description = "Queue that feeds the function (batch, partial batch failures reported). maximum_concurrency (>= 2) keeps the poller within the reserved concurrency, so throttling never pushes messages into the DLQ."
  type = object({
    queue_arn                          = string
    batch_size                         = optional(number, 10)
    maximum_batching_window_in_seconds = optional(number, 0)
    maximum_concurrency                = optional(number)
  })
  default = null
}

# --- least-privilege policy: every grant is explicit -------------------------

variable "dynamodb_tables" {
  description = "Tables the function uses (each grant: table ARNs and the exact actions); Query and Scan also apply to the tables' indexes."
  type = list(object({
    arns    = list(string)
    actions = list(string)
  }))
  default = []
}

variable "bucket_arn" {
  description = "ARN of the mail bucket; required when any bucket_*_prefixes is set."
  type        = string
  default     = null
}

variable "bucket_read_prefixes" {
  description = "Key prefixes the function may read (s3:GetObject), e.g. [\"inbox/\"]."
  type        = list(string)
  default     = []
}

variable "bucket_write_prefixes" {
  description = "Key prefixes the function may write (s3:PutObject)."
  type        = list(string)
  default     = []
}

variable "bucket_delete_prefixes" {
  description = "Key prefixes the function may delete from (s3:DeleteObject)."
  type        = list(string)
  default     = []
}

variable "queue_send_arns" {
  description = "Queues the code sends to by name (sqs:GetQueueUrl + sqs:SendMessage); the async dead_letter_queue_arn needs no entry."
  type        = list(string)
  default     = []
}

variable "event_bus_arns" {
  description = "Buses the function may publish to (events:PutEvents)."
  type        = list(string)
  default     = []
}

variable "ssm_parameter_arns" {
  description = "Parameters the function may read (ssm:GetParameter)."
  type        = list(string)
  default     = []
}

variable "ses_identity_arns" {
  description = "SES identities the function may send from; empty means the function sends no mail."
  type        = list(string)
  default     = []
}

variable "ses_from_addresses" {
  description = "The only From addresses the function's sends may use (condition ses:FromAddress); required with ses_identity_arns."
  type        = list(string)
  default     = []
}

variable "ses_recipients" {
  description = "When not empty, the only recipients the function may mail (condition ses:Recipients), e.g. the owner's mailbox."
  type        = list(string)
  default     = []
}

variable "ses_configuration_set_arns" {
  description = "SES configuration sets the function's sends use (SES authorizes them too)."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "Keys the function may use through S3, SSM, DynamoDB and SQS only (kms:ViaService)."
  type        = list(string)
  default     = []
}

variable "alarm_topic_arn" {
  description = "SNS topic the Errors and Throttles alarms notify."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
