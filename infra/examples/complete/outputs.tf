# What `crm --stack aws` needs. Outputs named like a field of crm.settings.Settings
# hold that setting's value; `settings` holds them all in one object.

output "region" {
  description = "Region of the stack."
  value       = data.aws_region.current.name
}

output "bus_name" {
  description = "EventBridge bus."
  value       = module.bus.bus_name
}

output "bus_arn" {
  description = "EventBridge bus ARN."
  value       = module.bus.bus_arn
}

output "archive_arn" {
  description = "Event archive (StartReplay source)."
  value       = module.bus.archive_arn
}

output "replay_rule_arns" {
  description = "The only rules an archive replay may target (FilterArns): consumers without side effects."
  value       = module.bus.replay_safe_rule_arns
}

output "events_table" {
  description = "Event store table."
  value       = module.tables.events_table_name
}

output "conversations_table" {
  description = "Conversations projection table."
  value       = module.tables.conversations_table_name
}

output "bucket" {
  description = "Mail bucket."
  value       = module.storage.bucket_name
}

output "queue_prefix" {
  description = "Prefix of every queue."
  value       = var.queue_prefix
}

output "queue_urls" {
  description = "Consumer => queue URL."
  value       = { for name, q in module.queue : name => q.url }
}

output "dlq_urls" {
  description = "Consumer => DLQ URL (plus the bus delivery DLQ and the producers' async DLQ)."
  value = merge(
    { for name, q in module.queue : name => q.dlq_url },
    { "bus-delivery" = module.bus.delivery_dlq_url, "async" = aws_sqs_queue.async_dlq.id },
  )
}

output "configuration_set" {
  description = "SES configuration set."
  value       = module.mail.configuration_set_name
}

output "mail_from_domain" {
  description = "Custom MAIL FROM domain."
  value       = module.mail.mail_from_domain
}

output "patterns_parameter" {
  description = "SSM parameter of the spam patterns."
  value       = module.params.spam_patterns_parameter_name
}

output "token_key_parameter" {
  description = "SSM SecureString of the reply-token key."
  value       = module.params.token_key_parameter_name
}

output "ack_templates_parameter" {
  description = "SSM parameter of the acknowledgement templates."
  value       = module.params.ack_templates_parameter_name
}

output "function_names" {
  description = "Function names: producer-<name> and consumer-<name>."
  value = merge(
    { for name, f in module.producer : "producer-${name}" => f.function_name },
    { for name, f in module.consumer : "consumer-${name}" => f.function_name },
  )
}

output "alarm_topic_arn" {
  description = "SNS topic of all alarms."
  value       = module.alarms.topic_arn
}

output "kms_key_arn" {
  description = "The stack's customer managed key."
  value       = aws_kms_key.crm.arn
}

output "settings" {
  description = "crm.settings.Settings fields of this stack, for `crm --stack aws` (tofu output -json > stack.json)."
  value = {
    region                  = data.aws_region.current.name
    public_address          = var.public_address
    public_name             = var.public_name
    aliases                 = var.aliases
    reply_domain            = var.reply_domain
    private_mailbox         = var.private_mailbox
    relay_domains           = var.relay_domains
    token_key_parameter     = module.params.token_key_parameter_name
    bus_name                = module.bus.bus_name
    events_table            = module.tables.events_table_name
    conversations_table     = module.tables.conversations_table_name
    bucket                  = module.storage.bucket_name
    queue_prefix            = var.queue_prefix
    configuration_set       = module.mail.configuration_set_name
    mail_from_domain        = module.mail.mail_from_domain
    patterns_parameter      = module.params.spam_patterns_parameter_name
    max_receive_count       = var.max_receive_count
    ack_cap_per_hour        = var.ack_cap_per_hour
    ack_templates_parameter = module.params.ack_templates_parameter_name
    mail_max_headers        = var.mail_limits.headers
    mail_max_header_line    = var.mail_limits.header_line
    mail_max_header_bytes   = var.mail_limits.header_bytes
    mail_max_addresses      = var.mail_limits.addresses
    mail_max_references     = var.mail_limits.references
    mail_max_depth          = var.mail_limits.depth
    mail_max_parts          = var.mail_limits.parts
    mail_max_params         = var.mail_limits.params
    mail_max_comment_depth  = var.mail_limits.comment_depth
    spam_threshold          = var.spam_threshold
  }
}
