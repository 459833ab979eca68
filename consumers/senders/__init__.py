"""The ack, forward and reply senders: one SQS queue each, idempotent on the event id."""
