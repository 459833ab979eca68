"""The only code that calls AWS (boto3): event store, bus, blobs, mailer, parameters, queues."""
