data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  topology_file = var.topology_file != null ? var.topology_file : "${path.module}/../../topology.json"
  topology      = jsondecode(file(local.topology_file))
  package       = var.lambda_package != null ? var.lambda_package : "${path.module}/../../../dist/lambda.zip"

  account          = data.aws_caller_identity.current.account_id
  partition        = data.aws_partition.current.partition
  domain           = split("@", var.public_address)[1]
  mail_from_domain = "${var.mail_from_subdomain}.${local.domain}"
  inbox_prefix     = "inbox/"

  # Every name of crm.settings.LAMBDA_ENVIRONMENT (a test checks the list); the
  # names are known before apply, so no function waits for another resource.
  lambda_environment = {
    CRM_PUBLIC_ADDRESS          = var.public_address
    CRM_PUBLIC_NAME             = var.public_name
    CRM_ALIASES                 = jsonencode(var.aliases)
    CRM_REPLY_DOMAIN            = var.reply_domain
    CRM_PRIVATE_MAILBOX         = var.private_mailbox
    CRM_RELAY_DOMAINS           = jsonencode(var.relay_domains)
    CRM_TOKEN_KEY_PARAMETER     = var.token_key_parameter
    CRM_BUS_NAME                = var.bus_name
    CRM_EVENTS_TABLE            = var.events_table
    CRM_CONVERSATIONS_TABLE     = var.conversations_table
    CRM_BUCKET                  = var.bucket
    CRM_QUEUE_PREFIX            = var.queue_prefix
    CRM_CONFIGURATION_SET       = var.configuration_set
    CRM_MAIL_FROM_DOMAIN        = local.mail_from_domain
    CRM_PATTERNS_PARAMETER      = var.patterns_parameter
    CRM_SPAM_THRESHOLD          = tostring(var.spam_threshold)
    CRM_ACK_TEMPLATES_PARAMETER = var.ack_templates_parameter
    CRM_MAX_RECEIVE_COUNT       = tostring(var.max_receive_count)
    # bounds on every parse of a mail (Settings.mail_max_*)
    CRM_MAIL_MAX_HEADERS       = tostring(var.mail_limits.headers)
    CRM_MAIL_MAX_HEADER_LINE   = tostring(var.mail_limits.header_line)
    CRM_MAIL_MAX_HEADER_BYTES  = tostring(var.mail_limits.header_bytes)
    CRM_MAIL_MAX_ADDRESSES     = tostring(var.mail_limits.addresses)
    CRM_MAIL_MAX_REFERENCES    = tostring(var.mail_limits.references)
    CRM_MAIL_MAX_DEPTH         = tostring(var.mail_limits.depth)
    CRM_MAIL_MAX_PARTS         = tostring(var.mail_limits.parts)
    CRM_MAIL_MAX_PARAMS        = tostring(var.mail_limits.params)
    CRM_MAIL_MAX_COMMENT_DEPTH = tostring(var.mail_limits.comment_depth)
    CRM_ACK_CAP_PER_HOUR       = tostring(var.ack_cap_per_hour)
    # not in LAMBDA_ENVIRONMENT: Settings.region defaults to us-east-1
    CRM_REGION = data.aws_region.current.name
  }
}

module "alarms" {
  source = "../../modules/alarms"

  topic_name                     = var.alarm_topic_name
  kms_key_arn                    = aws_kms_key.crm.arn
  email                          = var.alarm_email
  bounce_rate_alarm_threshold    = var.bounce_rate_alarm_threshold
  complaint_rate_alarm_threshold = var.complaint_rate_alarm_threshold
}

module "tables" {
  source = "../../modules/tables"

  topology_file            = local.topology_file
  events_table_name        = var.events_table
  conversations_table_name = var.conversations_table
  kms_key_arn              = aws_kms_key.crm.arn
  deletion_protection      = var.deletion_protection
}

module "storage" {
  source = "../../modules/storage"

  bucket_name                = var.bucket
  kms_key_arn                = aws_kms_key.crm.arn
  inbox_prefix               = local.inbox_prefix
  quarantine_expiration_days = var.quarantine_expiration_days
  access_logging             = { bucket = aws_s3_bucket.access_logs.id }
  ses_receipt_rule_arns      = module.mail.receipt_rule_arns
}

module "params" {
  source = "../../modules/params"

  spam_patterns_parameter_name = var.patterns_parameter
  initial_spam_patterns        = var.initial_spam_patterns
  ack_templates_parameter_name = var.ack_templates_parameter
  token_key_parameter_name     = var.token_key_parameter
  token_key                    = var.token_key
  kms_key_arn                  = aws_kms_key.crm.arn
  conversations_table_name     = var.conversations_table
}

# One queue (+ DLQ) per consumer of topology.json.
module "queue" {
  source   = "../../modules/queue"
  for_each = local.topology.consumers

  name                     = "${var.queue_prefix}${each.key}"
  dlq_name                 = "${var.queue_prefix}${each.key}-dlq"
  consumer_timeout_seconds = each.value.timeout
  max_receive_count        = var.max_receive_count
  source_rule_arns         = module.bus.rule_arns_by_consumer[each.key]
  alarm_topic_arn          = module.alarms.topic_arn
  max_message_age_seconds  = var.max_message_age_seconds
}

module "bus" {
  source = "../../modules/bus"

  bus_name               = var.bus_name
  topology_file          = local.topology_file
  queue_arns             = { for name, q in module.queue : name => q.arn }
  archive_retention_days = var.archive_retention_days
  alarm_topic_arn        = module.alarms.topic_arn
}

module "mail" {
  source = "../../modules/mail"

  domain                 = local.domain
  reply_domain           = var.reply_domain
  mail_from_subdomain    = var.mail_from_subdomain
  zone_id                = var.zone_id
  configuration_set_name = var.configuration_set
  rule_set_name          = var.bus_name
  bucket_name            = module.storage.bucket_name
  inbox_prefix           = local.inbox_prefix
  inbound_function_arn   = module.producer["inbound"].function_arn
  reply_function_arn     = module.producer["reply"].function_arn
  dmarc_policy           = var.dmarc_policy
  dmarc_rua              = var.dmarc_rua
  activate_rule_set      = var.activate_receipt_rule_set
}
