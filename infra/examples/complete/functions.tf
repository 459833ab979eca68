# One Lambda per consumer and per producer of topology.json, each with its own role
# and only the grants listed here. A consumer or producer added in the code fails
# the plan until it is given its grants below (a missing key is an error).

locals {
  # Exactly the actions the code calls (tests/infra/test_iam.py runs the flow and
  # checks every call against these grants, and every grant against the calls).
  table_actions = {
    append  = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"]
    project = ["dynamodb:GetItem", "dynamodb:PutItem"]
  }

  # Both conversations tables: readers follow the projection pointer to the live
  # one; `crm replay --into` rebuilds the other and switches the pointer.
  conversations_arns = module.tables.conversations_table_arns

  # grant name => table ARNs and actions
  table_grants = {
    events_read   = { arns = [module.tables.events_table_arn], actions = ["dynamodb:Query"] }
    events_append = { arns = [module.tables.events_table_arn], actions = local.table_actions.append }
    # the items a decision or a send without its record reads together, in one request
    events_batch_get  = { arns = [module.tables.events_table_arn], actions = ["dynamodb:BatchGetItem"] }
    conversations_get = { arns = local.conversations_arns, actions = ["dynamodb:GetItem"] }
    # the follow-up scheduler queries the by_followup index only
    conversations_due = { arns = [for arn in local.conversations_arns : "${arn}/index/by_followup"], actions = ["dynamodb:Query"] }
    conversations_rw  = { arns = local.conversations_arns, actions = local.table_actions.project }
    # a send's claim: kept with SES's answer when the outcome's commit fails, dropped when nothing went out
    events_claim = { arns = [module.tables.events_table_arn], actions = ["dynamodb:UpdateItem", "dynamodb:DeleteItem"] }
  }

  parameter_arns = {
    patterns      = module.params.spam_patterns_parameter_arn
    ack_templates = module.params.ack_templates_parameter_arn
    token_key     = module.params.token_key_parameter_arn
    pointer       = module.params.projection_pointer_parameter_arn
  }

  # What each function may touch. tables: keys of table_grants; read/write: bucket
  # prefixes; publish: events:PutEvents on the bus; parameters: keys of
  # parameter_arns; send_mail: SES sends from the public address (to anyone, or
  # only to the owner's mailbox: "owner"); own_dlq: the sender parks an in-doubt
  # send on its own DLQ.
  producer_access = {
    inbound = {
      timeout = 60, memory = 1024
      tables  = ["events_append", "events_batch_get"]
      read    = ["inbox/", "config/spam-patterns/"], write = ["quarantine/"]
      publish = true, parameters = ["patterns"], send_mail = null
    }
    reply = {
      timeout = 60, memory = 1024
      tables  = ["events_append"]
      read    = ["inbox/"], write = []
      publish = true, parameters = ["token_key"], send_mail = null
    }
    ses-feedback = {
      timeout = 30, memory = 256
      tables  = ["events_append"]
      read    = [], write = []
      publish = true, parameters = [], send_mail = null
    }
    followups = {
      timeout = 300, memory = 512
      tables  = ["events_append", "conversations_due"]
      read    = [], write = []
      publish = true, parameters = ["pointer"], send_mail = null
    }
  }

  consumer_access = {
    ack = {
      tables  = ["events_append", "events_batch_get", "events_claim"]
      read    = [], write = []
      publish = true, parameters = ["ack_templates"], send_mail = "anyone", own_dlq = true
    }
    forward = {
      tables  = ["events_append", "events_batch_get", "events_claim"]
      read    = ["inbox/"], write = []
      publish = true, parameters = ["token_key"], send_mail = "owner", own_dlq = true
    }
    reply = {
      tables  = ["events_append", "events_batch_get", "events_claim"]
      read    = ["inbox/"], write = []
      publish = true, parameters = [], send_mail = "anyone", own_dlq = true
    }
    projector = {
      tables  = ["events_read", "conversations_rw"]
      read    = [], write = []
      publish = false, parameters = ["pointer"], send_mail = null, own_dlq = false
    }
    attachments = {
      tables  = ["events_append"]
      read    = ["inbox/"], write = ["attachments/", "extracted/"]
      publish = true, parameters = [], send_mail = null, own_dlq = false
    }
    # runs the owner's rules (user code): it may mail the owner only
    rules = {
      tables  = ["events_append", "events_batch_get", "conversations_get", "events_claim"]
      read    = [], write = []
      publish = true, parameters = ["pointer"], send_mail = "owner", own_dlq = true
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
  reserved_concurrent_executions = lookup(var.reserved_concurrency, "producer-${each.key}", null)
  tracing_mode                   = var.tracing_mode
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
  event_bus_arns             = local.producer_access[each.key].publish ? [module.bus.bus_arn] : []
  ssm_parameter_arns         = [for p in local.producer_access[each.key].parameters : local.parameter_arns[p]]
  ses_identity_arns          = local.producer_access[each.key].send_mail == null ? [] : [module.mail.identity_arn]
  ses_configuration_set_arns = local.producer_access[each.key].send_mail == null ? [] : [module.mail.configuration_set_arn]
  ses_from_addresses         = local.producer_access[each.key].send_mail == null ? [] : [var.public_address]
  ses_recipients             = local.producer_access[each.key].send_mail == "owner" ? [var.private_mailbox] : []
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
  reserved_concurrent_executions = lookup(var.reserved_concurrency, "consumer-${each.key}", null)
  tracing_mode                   = var.tracing_mode
  environment                    = local.lambda_environment
  service_name                   = "consumer-${each.key}"
  kms_key_arn                    = aws_kms_key.crm.arn
  log_retention_days             = var.log_retention_days

  sqs_event_source = {
    queue_arn  = module.queue[each.key].arn
    batch_size = each.value.batch_size
    # from the code (the projector's), so a decision and its outcomes come in one batch
    maximum_batching_window_in_seconds = each.value.batching_window_seconds
    # the senders' cap from the code (SES sending rate) limits the poller, which
    # needs no reserved concurrency; SQS requires at least 2
    maximum_concurrency = each.value.reserved_concurrency == null ? null : max(2, each.value.reserved_concurrency)
  }

  dynamodb_tables            = [for grant in local.consumer_access[each.key].tables : local.table_grants[grant]]
  bucket_arn                 = module.storage.bucket_arn
  bucket_read_prefixes       = local.consumer_access[each.key].read
  bucket_write_prefixes      = local.consumer_access[each.key].write
  queue_send_arns            = local.consumer_access[each.key].own_dlq ? [module.queue[each.key].dlq_arn] : []
  event_bus_arns             = local.consumer_access[each.key].publish ? [module.bus.bus_arn] : []
  ssm_parameter_arns         = [for p in local.consumer_access[each.key].parameters : local.parameter_arns[p]]
  ses_identity_arns          = local.consumer_access[each.key].send_mail == null ? [] : [module.mail.identity_arn]
  ses_configuration_set_arns = local.consumer_access[each.key].send_mail == null ? [] : [module.mail.configuration_set_arn]
  ses_from_addresses         = local.consumer_access[each.key].send_mail == null ? [] : [var.public_address]
  ses_recipients             = local.consumer_access[each.key].send_mail == "owner" ? [var.private_mailbox] : []
  kms_key_arns               = [aws_kms_key.crm.arn]
  alarm_topic_arn            = module.alarms.topic_arn
}
