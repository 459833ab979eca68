locals {
  # projections.tables as exported by crm.infra_export: keys, attributes and GSIs are
  # generated from it, never retyped here.
  tables        = jsondecode(file(var.topology_file)).tables
  events        = local.tables.events
  conversations = local.tables.conversations

  # The live conversations table and its standby (`crm replay --into` rebuilds the
  # standby, then switches the projection pointer to it): both managed here.
  conversations_tables = {
    primary = var.conversations_table_name
    standby = "${var.conversations_table_name}${local.conversations.standby_suffix}"
  }
}

# Append-only event store: pk = stream id, sk = version.
resource "aws_dynamodb_table" "events" {
  name                        = var.events_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = local.events.hash_key
  range_key                   = local.events.range_key
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.events.attributes
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

# The conversations projection: one item per conversation, the 8 GSIs of
# projections.tables.CONVERSATION_INDEXES.
resource "aws_dynamodb_table" "conversations" {
  for_each = local.conversations_tables

  name                        = each.value
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = local.conversations.hash_key
  range_key                   = local.conversations.range_key
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.conversations.attributes
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  dynamic "global_secondary_index" {
    for_each = local.conversations.indexes
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.partition
      range_key       = global_secondary_index.value.sort
      projection_type = global_secondary_index.value.projection
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

moved {
  from = aws_dynamodb_table.conversations
  to   = aws_dynamodb_table.conversations["primary"]
}

