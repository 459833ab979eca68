output "bucket_name" {
  description = "The mail bucket (CRM_BUCKET). Ready for SES: the output waits for the bucket policy."
  value       = aws_s3_bucket.this.id

  depends_on = [aws_s3_bucket_policy.this, aws_s3_bucket_server_side_encryption_configuration.this]
}

output "bucket_arn" {
  description = "The mail bucket's ARN."
  value       = aws_s3_bucket.this.arn
}
