# One Lambda per consumer and per producer of topology.json, each with its own role
# and only the grants listed here. A consumer or producer added in the code fails
# the plan until it is given its grants below (a missing key is an error).

locals {
  table_actions = {
    read        = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]
    append      = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"]
    write       = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    idempotency = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
  }

  # grant name => table and actions
  table_grants = {
    events_read        = { arn = module.tables.events_table_arn, actions = local.table_actions.read }
    events_append      = { arn = module.tables.events_table_arn, actions = local.table_actions.append }
    # "<table>*": also the tables `crm replay --into <table>-v2` builds and switches readers to
    conversations_read = { arn = "${module.tables.conversations_table_arn}*", actions = local.table_actions.read }
    conversations_rw   = { arn = "${module.tables.conversations_table_arn}*", actions = local.table_actions.write }
    idempotency        = { arn = module.tables.idempotency_table_arn, actions = local.table_actions.idempotency }
  }

  parameter_arns = {
    patterns      = module.params.spam_patterns_parameter_arn
    ack_templates = module.params.ack_templates_parameter_arn
    token_key     = module.params.token_key_parameter_arn
    pointer       = module.params.projection_pointer_parameter_arn
  }

  # What each function may touch. tables: keys of table_grants; read/write/delete:
  # bucket prefixes; publish: events:PutEvents on the bus; parameters: keys of
  # parameter_arns; send_mail: SES sends from the domain identity.
  producer_access = {
    inbound = {
      timeout = 60, memory = 1024, concurrency = 10
      tables  = ["events_append", "conversations_read", "idempotency"]
      read    = ["inbox/"], write = ["quarantine/"], delete = ["inbox/"]
      publish = true, parameters = ["patterns"], send_mail = false
    }
    reply = {
      timeout = 60, memory = 1024, concurrency = 5
      tables  = ["events_append", "conversations_read", "idempotency"]
      read    = ["inbox/"], write = ["quarantine/"], delete = ["inbox/"]
      publish = true, parameters = ["token_key"], send_mail = false
    }
    ses-feedback = {
      timeout = 30, memory = 256, concurrency = 2
      tables  = ["events_append", "conversations_read", "idempotency"]
      read    = [], write = [], delete = []
      publish = true, parameters = [], send_mail = false
    }
    followups = {
      timeout = 300, memory = 512, concurrency = 1
      tables  = ["events_append", "conversations_read", "idempotency"]
      read    = [], write = [], delete = []
      publish = true, parameters = ["pointer"], send_mail = false
    }
  }

  consumer_access = {
    ack = {
      tables = ["events_append", "conversations_read", "idempotency"]
      read   = ["inbox/", "quarantine/"], write = [], delete = []
      publish = true, parameters = ["ack_templates"], send_mail = true
    }
    forward = {
      tables = ["events_append", "conversations_read", "idempotency"]
      read   = ["inbox/", "quarantine/", "attachments/"], write = [], delete = []
      publish = true, parameters = ["token_key"], send_mail = true
    }
    reply = {
      tables = ["events_append", "conversations_read", "idempotency"]
      read   = ["inbox/"], write = [], delete = []
      publish = true, parameters = [], send_mail = true
    }
    projector = {
      tables = ["events_read", "conversations_rw", "idempotency"]
      read   = [], write = [], delete = []
      publish = false, parameters = ["pointer"], send_mail = false
    }
    attachments = {
      tables = ["events_append", "idempotency"]
      read   = ["inbox/", "quarantine/"], write = ["attachments/", "extracted/"], delete = []
      publish = true, parameters = [], send_mail = false
    }
    rules = {
      tables = ["events_append", "conversations_read", "idempotency"]
      read   = [], write = [], delete = []
      publish = true, parameters = ["pointer"], send_mail = true
    }
  }
}

module "producer" {
  source   = "../../modules/function"
  for_each = local.topology.producers

  name                           = "${var.function_prefix}producer-${each.key}"
  description                    = "crm producer ${each.key} (${each.value})"
  handler                        = each.value
  filename                       = local.package
  architectures                  = [var.lambda_architecture]
  timeout                        = local.producer_access[each.key].timeout
  memory_size                    = local.producer_access[each.key].memory
  reserved_concurrent_executions = local.producer_access[each.key].concurrency
  environment                    = local.lambda_environment
  service_name                   = "producer-${each.key}"
  kms_key_arn                    = aws_kms_key.crm.arn
  log_retention_days             = var.log_retention_days
  # SES and EventBridge invoke producers asynchronously: failures after Lambda's
  # own retries land in the async DLQ.
  dead_letter_queue_arn = aws_sqs_queue.async_dlq.arn

  dynamodb_tables            = [for grant in local.producer_access[each.key].tables : local.table_grants[grant]]
  bucket_arn                 = module.storage.bucket_arn
  bucket_read_prefixes       = local.producer_access[each.key].read
  bucket_write_prefixes      = local.producer_access[each.key].write
  bucket_delete_prefixes     = local.producer_access[each.key].delete
  event_bus_arns             = local.producer_access[each.key].publish ? [module.bus.bus_arn] : []
  ssm_parameter_arns         = [for p in local.producer_access[each.key].parameters : local.parameter_arns[p]]
  ses_identity_arns          = local.producer_access[each.key].send_mail ? [module.mail.identity_arn] : []
  ses_configuration_set_arns = local.producer_access[each.key].send_mail ? [module.mail.configuration_set_arn] : []
  kms_key_arns               = [aws_kms_key.crm.arn]
  alarm_topic_arn            = module.alarms.topic_arn
}

module "consumer" {
  source   = "../../modules/function"
  for_each = local.topology.consumers

  name                           = "${var.function_prefix}consumer-${each.key}"
  description                    = "crm consumer ${each.key} (${each.value.handler})"
  handler                        = each.value.handler
  filename                       = local.package
  architectures                  = [var.lambda_architecture]
  timeout                        = each.value.timeout
  reserved_concurrent_executions = coalesce(each.value.reserved_concurrency, var.default_reserved_concurrency)
  environment                    = local.lambda_environment
  service_name                   = "consumer-${each.key}"
  kms_key_arn                    = aws_kms_key.crm.arn
  log_retention_days             = var.log_retention_days

  sqs_event_source = {
    queue_arn  = module.queue[each.key].arn
    batch_size = each.value.batch_size
    # the poller stays within the reserved concurrency (throttled batches would
    # count as receives and reach the DLQ); SQS requires at least 2
    maximum_concurrency = max(2, coalesce(each.value.reserved_concurrency, var.default_reserved_concurrency))
  }

  # a send whose outcome is unknown is parked in the consumer's own DLQ (never retried blindly)
  queue_send_arns            = [module.queue[each.key].dlq_arn]
  dynamodb_tables            = [for grant in local.consumer_access[each.key].tables : local.table_grants[grant]]
  bucket_arn                 = module.storage.bucket_arn
  bucket_read_prefixes       = local.consumer_access[each.key].read
  bucket_write_prefixes      = local.consumer_access[each.key].write
  bucket_delete_prefixes     = local.consumer_access[each.key].delete
  event_bus_arns             = local.consumer_access[each.key].publish ? [module.bus.bus_arn] : []
  ssm_parameter_arns         = [for p in local.consumer_access[each.key].parameters : local.parameter_arns[p]]
  ses_identity_arns          = local.consumer_access[each.key].send_mail ? [module.mail.identity_arn] : []
  ses_configuration_set_arns = local.consumer_access[each.key].send_mail ? [module.mail.configuration_set_arn] : []
  kms_key_arns               = [aws_kms_key.crm.arn]
  alarm_topic_arn            = module.alarms.topic_arn
}
