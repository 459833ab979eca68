data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  region           = data.aws_region.current.name
  account          = data.aws_caller_identity.current.account_id
  mail_from_domain = "${var.mail_from_subdomain}.${var.domain}"
  inbound_smtp     = "inbound-smtp.${local.region}.amazonaws.com"
  default_bus_arn  = "arn:${data.aws_partition.current.partition}:events:${local.region}:${local.account}:event-bus/default"
  rule_arn_prefix  = "arn:${data.aws_partition.current.partition}:ses:${local.region}:${local.account}:receipt-rule-set/${var.rule_set_name}:receipt-rule"
  dmarc            = join("; ", compact(["v=DMARC1", "p=${var.dmarc_policy}", var.dmarc_rua == null ? "" : "rua=mailto:${var.dmarc_rua}"]))

  receipt_rules = {
    public = {
      name       = "${var.rule_set_name}-public"
      recipients = var.public_recipients != null ? var.public_recipients : [var.domain]
      function   = var.inbound_function_arn
    }
    reply = {
      name       = "${var.rule_set_name}-reply"
      recipients = [var.reply_domain]
      function   = var.reply_function_arn
    }
  }
}

# --- sending: identity, DKIM, MAIL FROM, configuration set -----------------------

resource "aws_sesv2_configuration_set" "this" {
  configuration_set_name = var.configuration_set_name

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }

  tags = var.tags
}

# Bounces and complaints go to the default bus, where the ses-feedback Lambda
# turns them into domain events (deliveries and rejects would only wake it up).
resource "aws_sesv2_configuration_set_event_destination" "eventbridge" {
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name
  event_destination_name = "eventbridge"

  event_destination {
    enabled              = true
    matching_event_types = var.feedback_event_types

    event_bridge_destination {
      event_bus_arn = local.default_bus_arn
    }
  }
}

# Easy DKIM (SES-generated 2048-bit keys); the three CNAMEs are below.
resource "aws_sesv2_email_identity" "domain" {
  email_identity         = var.domain
  configuration_set_name = aws_sesv2_configuration_set.this.configuration_set_name

  dkim_signing_attributes {
    next_signing_key_length = "RSA_2048_BIT"
  }

  tags = var.tags
}

# MX failure: reject the send rather than fall back to amazonses.com, which would
# break SPF alignment and so DMARC (the v1 resource spells it "RejectMessage").
resource "aws_sesv2_email_identity_mail_from_attributes" "domain" {
  email_identity         = aws_sesv2_email_identity.domain.email_identity
  mail_from_domain       = local.mail_from_domain
  behavior_on_mx_failure = "REJECT_MESSAGE"
}

# --- receiving: rule set, two rules, Lambda permissions ----------------------------

resource "aws_ses_receipt_rule_set" "this" {
  rule_set_name = var.rule_set_name
}

# A region has ONE active rule set: activating this one deactivates any other
# (another application's receiving in this region stops). Explicit, never implied.
resource "aws_ses_active_receipt_rule_set" "this" {
  count = var.activate_rule_set ? 1 : 0

  rule_set_name = aws_ses_receipt_rule_set.this.rule_set_name
}

resource "aws_lambda_permission" "ses" {
  for_each = local.receipt_rules

  statement_id   = "AllowSesReceiptRule-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = each.value.function
  principal      = "ses.amazonaws.com"
  source_account = local.account
  source_arn     = "${local.rule_arn_prefix}/${each.value.name}"
}

# Rule 1: the public domain -> raw mail to S3, then producers.inbound (async).
resource "aws_ses_receipt_rule" "public" {
  name          = local.receipt_rules.public.name
  rule_set_name = aws_ses_receipt_rule_set.this.rule_set_name
  recipients    = local.receipt_rules.public.recipients
  enabled       = true
  scan_enabled  = true
  tls_policy    = "Require"

  s3_action {
    position          = 1
    bucket_name       = var.bucket_name
    object_key_prefix = var.inbox_prefix
  }

  lambda_action {
    position        = 2
    function_arn    = local.receipt_rules.public.function
    invocation_type = "Event"
  }

  depends_on = [aws_lambda_permission.ses]
}

# Rule 2: the reply subdomain -> raw mail to S3, then producers.reply (async).
resource "aws_ses_receipt_rule" "reply" {
  name          = local.receipt_rules.reply.name
  rule_set_name = aws_ses_receipt_rule_set.this.rule_set_name
  after         = aws_ses_receipt_rule.public.name
  recipients    = local.receipt_rules.reply.recipients
  enabled       = true
  scan_enabled  = true
  tls_policy    = "Require"

  s3_action {
    position          = 1
    bucket_name       = var.bucket_name
    object_key_prefix = var.inbox_prefix
  }

  lambda_action {
    position        = 2
    function_arn    = local.receipt_rules.reply.function
    invocation_type = "Event"
  }

  depends_on = [aws_lambda_permission.ses]
}

# --- DNS --------------------------------------------------------------------------

resource "aws_route53_record" "mx" {
  for_each = toset([var.domain, var.reply_domain])

  zone_id = var.zone_id
  name    = each.value
  type    = "MX"
  ttl     = var.record_ttl
  records = ["10 ${local.inbound_smtp}"]
}

resource "aws_route53_record" "spf" {
  zone_id = var.zone_id
  name    = var.domain
  type    = "TXT"
  ttl     = var.record_ttl
  records = concat([var.spf_record], var.extra_domain_txt_records)
}

resource "aws_route53_record" "dkim" {
  count = 3

  zone_id = var.zone_id
  name    = "${aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens[count.index]}._domainkey.${var.domain}"
  type    = "CNAME"
  ttl     = var.record_ttl
  records = ["${aws_sesv2_email_identity.domain.dkim_signing_attributes[0].tokens[count.index]}.dkim.amazonses.com"]
}

resource "aws_route53_record" "dmarc" {
  zone_id = var.zone_id
  name    = "_dmarc.${var.domain}"
  type    = "TXT"
  ttl     = var.record_ttl
  records = [local.dmarc]
}

resource "aws_route53_record" "mail_from_mx" {
  zone_id = var.zone_id
  name    = local.mail_from_domain
  type    = "MX"
  ttl     = var.record_ttl
  records = ["10 feedback-smtp.${local.region}.amazonses.com"]
}

resource "aws_route53_record" "mail_from_spf" {
  zone_id = var.zone_id
  name    = local.mail_from_domain
  type    = "TXT"
  ttl     = var.record_ttl
  records = ["v=spf1 include:amazonses.com -all"]
}
